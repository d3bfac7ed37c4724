from django.contrib import admin

from reputable.shops.models import ApiKey, Membership, Shop


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "country", "timezone", "default_locale"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "shop", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    # Keys are issued through the API or `reputable createshop`; the hash is never edited.
    readonly_fields = ["shop", "prefix", "hashed_key", "created_at"]

    def has_add_permission(self, request: object) -> bool:
        return False
