"""The API's error shape: a machine code, a human message and, for validation, the fields."""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from ninja import Schema
from pydantic import AfterValidator, Field

from reputable.lib import text
from reputable.lib.dates import EARLIEST
from reputable.lib.emails import normalise_address

# An address as input: what a message can carry (the rule the email builder applies too).
Email = Annotated[str, Field(max_length=254), AfterValidator(normalise_address)]

# The last day a date filter may name; with EARLIEST, the sane range of a day given as input.
LATEST_DAY = dt.date(2999, 12, 31)


def _sane_day(value: dt.date) -> dt.date:
    if not EARLIEST.date() <= value <= LATEST_DAY:
        raise ValueError(f"must lie between {EARLIEST.date()} and {LATEST_DAY}")
    return value


Day = Annotated[dt.date, AfterValidator(_sane_day)]


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    code: str
    message: str
    fields: list[FieldError] = []


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[FieldError] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []
        self.headers = dict(headers or {})

    def body(self) -> dict:
        return ErrorOut(code=self.code, message=self.message, fields=self.fields).model_dump()


def too_many_attempts(retry_after: int) -> ApiError:
    """A 429 for an address past its limit of failed attempts (see reputable.lib.ratelimit)."""
    return ApiError(
        429,
        "too_many_attempts",
        f"too many failed attempts from this address; try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def invalid_fields(fields: list[FieldError]) -> ApiError:
    """A 422 naming the failing fields."""
    return ApiError(422, "validation_error", "; ".join(f"{f.field}: {f.message}" for f in fields), fields)


def refused(fields: Mapping[str, str]) -> ApiError:
    """A 422 naming the fields an action refused (field -> message)."""
    return invalid_fields([FieldError(field=f, message=m) for f, m in fields.items()])


def invalid(field: str, message: str) -> ApiError:
    """A 422 naming one failing field."""
    return invalid_fields([FieldError(field=field, message=message)])


def model_invalid(error: ValidationError) -> ApiError:
    """A 422 from a model's validation (`full_clean()`), naming its fields."""
    return invalid_fields([FieldError(field=f, message=" ".join(m)) for f, m in error.message_dict.items()])


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Pydantic errors as FieldErrors named by their dotted location."""
    fields = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "string_pattern_mismatch":
            message = text.MESSAGES.get(error.get("ctx", {}).get("pattern"), message)
        elif error.get("type") == "string_unicode":
            message = "must be valid Unicode text"
        fields.append(FieldError(field=".".join(loc) or "body", message=message))
    return fields
