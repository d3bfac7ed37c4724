from django.contrib import admin

from reputable.invitations.models import Invitation, InvitationRule, MessageTemplate, Suppression


@admin.register(InvitationRule)
class InvitationRuleAdmin(admin.ModelAdmin):
    list_display = ["event_type", "is_active", "delay_amount", "delay_unit", "send_time", "reminder_count"]
    list_filter = ["is_active", "delay_unit"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["id", "shop", "email", "status", "sent_count", "send_at", "attempts"]
    list_filter = ["status"]
    search_fields = ["email", "transaction__reference"]
    # The lifecycle is written by InvitationQuerySet's methods only, never by hand.
    readonly_fields = [
        "token",
        "status",
        "sent_count",
        "send_at",
        "last_sent_at",
        "claimed_until",
        "claim_id",
        "attempts",
        "last_error",
    ]
    raw_id_fields = ["transaction", "rule"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["shop", "kind", "locale", "updated_at"]


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["email", "shop", "reason", "created_at"]
    search_fields = ["email"]
