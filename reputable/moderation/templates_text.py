"""Ready explanations for the moderators' decisions, per ground and measure.

A moderator picks one on the console (`?template=<key>`) to prefill the explanation, then adapts
it to the case: the explanation is the "reasons" part of the statement both parties receive,
so it speaks to them, plainly, and names no one's private details. A template without a ground
fits every ground; its text names the dispute's ground.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from reputable.moderation.grounds import Ground, label
from reputable.moderation.models import Decision

Measure = Decision.Measure


@dataclass(frozen=True)
class Template:
    key: str
    measure: str  # a Decision.Measure: "restricted" prefills the restriction's form
    title: Promise
    text: Promise  # may name the ground as %(ground)s
    ground: str = ""  # "": for any ground

    def fits(self, ground: str, measure: str | None = None) -> bool:
        return self.ground in ("", ground) and measure in (None, self.measure)

    def explanation(self, ground: str) -> str:
        return str(self.text) % {"ground": label(ground)}


TEMPLATES = [
    Template(
        "kept",
        Measure.KEPT,
        _("Kept: the complaint is not shown"),
        _(
            "We looked at the review, the complaint (“%(ground)s”) and what both sides sent us. The"
            " complaint is not shown: the review describes the reviewer's own experience and breaks"
            " none of our review guidelines, so it stays as it is."
        ),
    ),
    Template(
        "kept-opinion",
        Measure.KEPT,
        _("Kept: an opinion, not a statement of fact"),
        _(
            "The passage the shop disputes is the reviewer's opinion of their experience, not a"
            " statement of fact that could be proved false. Opinions, including harsh ones, are"
            " protected, so the review stays as it is."
        ),
        Ground.FALSE_FACT,
    ),
    Template(
        "kept-customer",
        Measure.KEPT,
        _("Kept: the reviewer showed the purchase"),
        _(
            "The reviewer showed us that they were a customer of the shop at the time of the"
            " review. The review stays as it is."
        ),
        Ground.NOT_A_CUSTOMER,
    ),
    Template(
        "redacted",
        Measure.REDACTED,
        _("Redacted: one passage breaks the guidelines"),
        _(
            "One passage of the review breaks our review guidelines (“%(ground)s”); the rest is"
            " the reviewer's account of their experience. We replaced that passage with a note and"
            " kept the rest, with its rating, as it was."
        ),
    ),
    Template(
        "redacted-personal-data",
        Measure.REDACTED,
        _("Redacted: personal data in the text"),
        _(
            "The review names a person or gives their contact details, which may not be published."
            " We replaced that passage with a note; the rest of the review and its rating stay."
        ),
        Ground.PERSONAL_DATA,
    ),
    Template(
        "removed",
        Measure.REMOVED,
        _("Removed: the complaint is shown"),
        _(
            "We looked at the review, the complaint (“%(ground)s”) and what both sides sent us. The"
            " complaint is shown, and the review cannot be kept by removing a single passage, so we"
            " removed it. A notice of the removal and its reason is shown in its place."
        ),
    ),
    Template(
        "removed-not-a-customer",
        Measure.REMOVED,
        _("Removed: no sign of a purchase"),
        _(
            "The shop says the reviewer was never its customer. We asked the reviewer to show the"
            " purchase, and what we received does not show one. The review is removed; a notice of"
            " the removal is shown in its place."
        ),
        Ground.NOT_A_CUSTOMER,
    ),
    Template(
        "removed-illegal",
        Measure.REMOVED,
        _("Removed: threats, insults or hate"),
        _(
            "The review contains threats, insults or hate against a person, which are illegal and"
            " against our guidelines throughout the text. The review is removed; a notice of the"
            " removal is shown in its place."
        ),
        Ground.ILLEGAL_CONTENT,
    ),
    Template(
        "removed-advertising",
        Measure.REMOVED,
        _("Removed: advertising"),
        _(
            "The review does not describe an experience with the shop but advertises something"
            " else. The review is removed; a notice of the removal is shown in its place."
        ),
        Ground.ADVERTISING,
    ),
    Template(
        "restricted-illegal",
        Measure.RESTRICTED,
        _("Hidden until the decision: threats or hate"),
        _(
            "The review contains what is plainly a threat or hate against a person. We have hidden"
            " it until we decide on the complaint, after hearing the reviewer."
        ),
        Ground.ILLEGAL_CONTENT,
    ),
    Template(
        "restricted-personal-data",
        Measure.RESTRICTED,
        _("Hidden until the decision: published personal data"),
        _(
            "The review publishes a person's private details. We have hidden it until we decide on"
            " the complaint, after hearing the reviewer."
        ),
        Ground.PERSONAL_DATA,
    ),
]
BY_KEY = {template.key: template for template in TEMPLATES}


def templates_for(ground: str, measure: str | None = None) -> list[Template]:
    """The templates that fit a dispute's ground (and a measure), the ground's own first."""
    fitting = [t for t in TEMPLATES if t.fits(ground, measure)]
    return sorted(fitting, key=lambda t: t.ground == "")
