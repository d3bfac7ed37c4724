"""The words of a dispute's history on the shop's pages."""

from django import template

from reputable.moderation.merchant import action_label

register = template.Library()
register.filter("action_label", action_label)
