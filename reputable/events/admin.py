from django.contrib import admin

from reputable.events.models import Event, EventType, Transaction, TransactionProduct


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "shop", "is_active", "is_stop", "is_builtin"]
    list_filter = ["is_active", "is_stop"]


class EventInline(admin.TabularInline):
    model = Event
    extra = 0
    readonly_fields = ["event_type", "outcome", "invitation", "received_at"]
    can_delete = False


class ProductInline(admin.TabularInline):
    model = TransactionProduct
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ["reference", "shop", "date", "email"]
    search_fields = ["reference", "email"]
    inlines = [ProductInline, EventInline]
