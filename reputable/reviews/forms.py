"""The review form: parsing and validation only; `submit_review` does the writing."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from reputable.lib.text import unix_line_ends, validate_line, validate_paragraphs
from reputable.reviews.actions import ReviewInput
from reputable.reviews.models import Product, Review

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

STAR_CHOICES = [(n, str(n)) for n in range(1, 6)]


def paragraphs(label: "str | _StrPromise", max_length: int, rows: int) -> forms.CharField:
    """Multi-line text: line breaks allowed (stored as LF), control characters not."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=False,
        validators=[validate_paragraphs],
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def optional_stars(label: "str | _StrPromise") -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=STAR_CHOICES, coerce=int, empty_value=None, required=False, widget=forms.RadioSelect
    )


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Your overall rating of the shop"), choices=STAR_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    delivery_rating = optional_stars(_("Delivery"))
    service_rating = optional_stars(_("Customer service"))
    title = forms.CharField(label=_("Title"), max_length=120, required=False, validators=[validate_line])
    body = paragraphs(_("Your review"), 5000, rows=6)
    name_display = forms.ChoiceField(
        label=_("Show my name as"),
        choices=Review.NameDisplay.choices,
        initial=Review.NameDisplay.FIRST_NAME_INITIAL,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, products: list[Product], first_name_initial: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.products = products
        self.fields["name_display"].choices = [  # type: ignore[attr-defined]
            (Review.NameDisplay.FIRST_NAME_INITIAL, first_name_initial or _("my first name")),
            (Review.NameDisplay.ANONYMOUS, _("Anonymous")),
        ]
        for product in products:
            self.fields[f"product_{product.pk}_rating"] = optional_stars(product.name)
            self.fields[f"product_{product.pk}_body"] = paragraphs(
                _("About %(product)s") % {"product": product.name}, 2000, rows=3
            )

    def product_fields(self) -> list[tuple[Product, forms.BoundField, forms.BoundField]]:
        return [(p, self[f"product_{p.pk}_rating"], self[f"product_{p.pk}_body"]) for p in self.products]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for product in self.products:
            if data.get(f"product_{product.pk}_body") and not data.get(f"product_{product.pk}_rating"):
                self.add_error(f"product_{product.pk}_rating", _("Please rate the product you wrote about."))
        return data

    def review_input(self) -> ReviewInput:
        data = self.cleaned_data
        return ReviewInput(
            rating=data["rating"],
            delivery_rating=data["delivery_rating"],
            service_rating=data["service_rating"],
            title=data["title"].strip(),
            body=unix_line_ends(data["body"]),
            name_display=data["name_display"],
            products={
                p.pk: (data[f"product_{p.pk}_rating"], unix_line_ends(data[f"product_{p.pk}_body"]))
                for p in self.products
                if data.get(f"product_{p.pk}_rating")
            },
        )

    @classmethod
    def initial_from(cls, review: Review) -> dict[str, Any]:
        initial: dict[str, Any] = {f: getattr(review, f) for f in Review.WRITTEN_FIELDS}
        for pr in review.product_reviews.all():
            initial[f"product_{pr.product_id}_rating"] = pr.rating
            initial[f"product_{pr.product_id}_body"] = pr.body
        return initial


class MessageText(forms.CharField):
    """A message's text with line ends as stored (LF) before its length is checked: a browser
    counts a line break as one character where it sends two."""

    def to_python(self, value: Any) -> str:
        return str(unix_line_ends(super().to_python(value)))


class MessageForm(forms.Form):
    """A message of the private conversation between the shop and a reviewer, from either side."""

    body = MessageText(
        label=_("Message"), max_length=5000, validators=[validate_paragraphs], widget=forms.Textarea(attrs={"rows": 5})
    )

    def __init__(self, data: Any = None) -> None:
        # Its own ids: on the dashboard's review page it stands next to the reply's form.
        super().__init__(data, auto_id="message_%s")
