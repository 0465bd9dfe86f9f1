"""The configuration table of the README, generated from the settings classes.

`python -m core.settings_doc` prints it; a test keeps the README in step.
"""
from __future__ import annotations

from pydantic_settings import BaseSettings

from core import settings as settings_module


def setting_classes() -> list[type[BaseSettings]]:
    return [obj for name, obj in vars(settings_module).items()
            if isinstance(obj, type) and issubclass(obj, BaseSettings) and obj is not BaseSettings]


def _default(field) -> str:
    if field.default_factory is not None:
        return f"`{field.default_factory()}`"
    value = field.default
    return "(required)" if value in ("", None) else f"`{value}`"


def markdown_table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for cls in setting_classes():
        for name, field in cls.model_fields.items():
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| `ZHIJIAO_{name.upper()}` | {_default(field)} | {desc} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
