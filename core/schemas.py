"""The shared kernel of request and response models.

Every package's schemas build on these: inputs refuse unknown fields,
NaN/Infinity, NUL characters and lone surrogates (anywhere, also inside
lists and dicts) and explicit nulls on fields that must not be cleared;
ids are bounded to the database's bigint; lists answer in one page shape.
"""
from __future__ import annotations

from typing import Annotated, ClassVar, Generic, TypeVar

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from core.text import text_problem

T = TypeVar("T")

# An administrative-area code (GB/T 2260, e.g. "330803"), as stored (12 characters at most).
AdminCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,12}$")]

BIGINT_MAX = 2**63 - 1
# Every row id is a PostgreSQL bigint: a larger number in a path, query or
# body is refused by validation (a 422 naming the parameter) instead of
# overflowing inside psycopg as a 500. Works for path and query parameters
# (FastAPI passes the constraints to pydantic) and for body fields alike.
Id = Annotated[int, Ge(1), Le(BIGINT_MAX)]


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
    def _storable_text(cls, value):
        # PostgreSQL text and JSON hold neither NUL nor a lone surrogate:
        # refuse them here with a 422, also inside lists (admin_codes) and
        # dicts (a geometry), rather than fail later in psycopg as a 500 (or
        # in the audit write as a 503). Nested models check their own fields.
        if isinstance(value, BaseModel):
            return value
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
