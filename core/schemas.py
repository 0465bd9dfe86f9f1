"""The shared kernel of request and response models.

Every package's schemas build on these: inputs refuse unknown fields,
NaN/Infinity, NUL characters and explicit nulls on fields that must not be
cleared; lists answer in one page shape.
"""
from __future__ import annotations

from typing import Annotated, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

T = TypeVar("T")

# An administrative-area code (GB/T 2260, e.g. "330803"), as stored (12 characters at most).
AdminCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,12}$")]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)
    # Fields of a partial update that may be left out but not set to null.
    not_null: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _explicit_nulls(self):
        for name in self.model_fields_set & self.not_null:
            if getattr(self, name) is None:
                raise PydanticCustomError("not_null", "{field} cannot be null (leave it out to keep the value)",
                                          {"field": name})
        return self

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        # PostgreSQL text and JSON cannot hold NUL: refuse it here with a 422
        # rather than fail later (the audit write would turn it into a 503).
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
