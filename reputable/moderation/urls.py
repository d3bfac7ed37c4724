"""URLs under /moderation/: the moderators' console (reputable.moderation.console) and the
moderation pages of other parts.

No app_name: the URL names are global ("moderation-dispute" is reversed by the core).
"""

from django.urls import path

from reputable.moderation import console

urlpatterns = [
    path("", console.queues, name="moderation-queues"),
    path("disputes/<int:dispute_id>", console.dispute, name="moderation-dispute"),
    path("disputes/<int:dispute_id>/triage", console.triage, name="moderation-triage"),
    path("disputes/<int:dispute_id>/restrict", console.restrict, name="moderation-restrict"),
    path("disputes/<int:dispute_id>/decide", console.decide, name="moderation-decide"),
    path("disputes/<int:dispute_id>/evidence/<int:evidence_id>", console.evidence, name="moderation-evidence"),
    path("notices/<int:notice_id>", console.notice, name="moderation-notice"),
    path("notices/<int:notice_id>/restrict", console.notice_restrict, name="moderation-notice-restrict"),
    path("notices/<int:notice_id>/decide", console.notice_decide, name="moderation-notice-decide"),
    path("reviews/<int:review_id>/clear-flag", console.clear_flag, name="moderation-clear-flag"),
]
