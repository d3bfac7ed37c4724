"""Why a review may be disputed, noticed or taken down: one closed list, shared by disputes,
notices, decisions and the public stub (which names the ground's label)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Ground(models.TextChoices):
    NOT_A_CUSTOMER = "not_a_customer", _("The reviewer was not a customer")
    DIFFERENT_BUSINESS = "different_business", _("The review is about a different business")
    PERSONAL_DATA = "personal_data", _("The review publishes personal data")
    ILLEGAL_CONTENT = "illegal_content", _("Illegal content: threats, insults or hate")
    ADVERTISING = "advertising", _("Advertising or spam")
    CONFLICT_OF_INTEREST = "conflict_of_interest", _("Conflict of interest")
    FALSE_FACT = "false_fact", _("A false statement of fact")
    OTHER_TERMS = "other_terms", _("Against the review guidelines in another way")


# Why a review was taken down other than by a moderator's decision on a ground above.
class Withdrawal(models.TextChoices):
    BY_REVIEWER = "withdrawn", _("Withdrawn by the reviewer")
    ERASURE = "erasure_request", _("Erased at the reviewer's request")


def label(code: str) -> str:
    """The label of a ground or a withdrawal, for the stub and the statements."""
    for choices in (Ground, Withdrawal):
        if code in choices.values:
            return str(choices(code).label)
    return code
