from django.contrib import admin

from reputable.reviews.models import Product, ProductReview, Review


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "shop", "gtin"]
    search_fields = ["name", "sku", "gtin"]


class ProductReviewInline(admin.TabularInline):
    model = ProductReview
    extra = 0
    readonly_fields = ["product", "rating", "body"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["id", "shop", "rating", "title", "author_name", "status", "created_at"]
    list_filter = ["status", "rating"]
    # Reviews are written by customers only; staff read them here. Removal comes with disputes.
    readonly_fields = [f.name for f in Review._meta.fields]
    inlines = [ProductReviewInline]

    def has_add_permission(self, request: object) -> bool:
        return False
