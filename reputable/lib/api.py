"""The API's error shape: a machine code, a human message and, for validation, the fields."""

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import AfterValidator, Field

# Plain addresses (dot-atom @ host names): a strict subset of what Django's validator takes,
# checked in one match. Anything else (quoted parts, IP literals, IDN) goes to Django's.
PLAIN_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def normalise_email(value: str) -> str:
    # Addresses are compared case-insensitively everywhere (suppressions, frequency cap).
    value = value.strip().lower()
    if PLAIN_EMAIL.fullmatch(value):
        return value
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("is not a valid email address") from None
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(normalise_email)]


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    code: str
    message: str
    fields: list[FieldError] = []


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []

    def body(self) -> dict:
        return ErrorOut(code=self.code, message=self.message, fields=self.fields).model_dump()


def invalid(field: str, message: str) -> ApiError:
    """A 422 naming one failing field."""
    return ApiError(422, "validation_error", f"{field}: {message}", [FieldError(field=field, message=message)])


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Pydantic errors as FieldErrors named by their dotted location."""
    fields = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        fields.append(FieldError(field=".".join(loc) or "body", message=message))
    return fields
