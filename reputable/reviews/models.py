from django.db import models

from reputable.shops.models import Shop


class Product(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    # The identity within the shop: the SKU, or the name where a shop has no SKUs.
    key = models.CharField(max_length=255)
    sku = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=255)
    gtin = models.CharField(max_length=14, blank=True)
    mpn = models.CharField(max_length=70, blank=True)
    brand = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, blank=True)
    image_url = models.URLField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="product_key_per_shop")]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def key_for(*, sku: str, name: str) -> str:
        return sku if sku else f"name:{name}"[:255]
