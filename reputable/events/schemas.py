"""The shape of an incoming event, as shop systems send it.

Input models are plain pydantic models: ninja's Schema also reads Django objects, which
costs a third of a batch's validation time and is of no use for JSON coming in.
"""

import datetime as dt
from typing import Annotated

from ninja import Schema
from pydantic import BaseModel, BeforeValidator, Field, HttpUrl, field_validator

from reputable.lib.api import Email
from reputable.lib.dates import DelayUnit
from reputable.lib.text import Line

# Shop systems send null for what they do not know; it is stored as "".
_NULL_AS_BLANK = BeforeValidator(lambda value: "" if value is None else value)
Text = Annotated[Line, _NULL_AS_BLANK]


class TransactionIn(BaseModel):
    reference: Line = Field(min_length=1, max_length=100)
    date: dt.datetime

    @field_validator("reference", mode="before")
    @classmethod
    def reference_as_string(cls, value: object) -> object:
        # Order numbers arrive as numbers from some systems; they are identifiers, not math.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("reference")
    @classmethod
    def reference_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class CustomerIn(BaseModel):
    email: Email
    first_name: Text = Field(default="", max_length=100)
    last_name: Text = Field(default="", max_length=100)
    locale: Text = Field(default="", max_length=8)


class ProductIn(BaseModel):
    sku: Text = Field(default="", max_length=100)
    name: Line = Field(min_length=1, max_length=255)
    # Digits only: its own pattern, which no control character passes either.
    gtin: Annotated[str, _NULL_AS_BLANK] = Field(default="", max_length=14, pattern=r"^([0-9]{8}|[0-9]{12,14})?$")
    mpn: Text = Field(default="", max_length=70)
    brand: Text = Field(default="", max_length=100)
    url: HttpUrl | None = None
    image_url: HttpUrl | None = None


class DelayIn(BaseModel):
    """A delay the sender asks for instead of the rule's (the Feedback Company's and Kiyoh's
    clients send one with each order); the rule's time of day and reminders still apply."""

    amount: int = Field(ge=0)
    unit: DelayUnit


class EventIn(BaseModel):
    type: Line = Field(min_length=1, max_length=40)
    transaction: TransactionIn
    customer: CustomerIn
    products: list[ProductIn] = Field(default_factory=list, max_length=100)
    estimated_delivery_date: dt.date | None = None
    # The first invitation's delay, instead of the event type's rule's (the rule must exist).
    delay: DelayIn | None = None


class InvitationOut(Schema):
    id: int
    status: str
    send_at: dt.datetime


class EventOut(Schema):
    event_id: int
    transaction_reference: str
    outcome: str
    invitation: InvitationOut | None
