"""The names of the team roles in the visitor's (or an email's) language: `{{ role|role_name }}`."""

from django import template
from django.utils.translation import gettext_lazy as _

from reputable.shops.models import Membership

Role = Membership.Role
register = template.Library()

# Each role, weakest first, with what it may do (as reputable.shops.access enforces it).
ROLES = [
    (Role.VIEWER, _("Viewer"), _("sees everything, changes nothing")),
    (Role.RESPONDER, _("Responder"), _("also answers reviews in public and writes to reviewers")),
    (Role.MANAGER, _("Manager"), _("also changes settings, rules, emails and API keys")),
    (Role.OWNER, _("Owner"), _("also manages the team and may delete the shop")),
]
ROLE_NAMES = {role.value: name for role, name, _duties in ROLES}


@register.filter
def role_name(role: str) -> str:
    return str(ROLE_NAMES.get(role, role))
