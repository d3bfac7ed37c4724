"""A shop's brand colour in its widgets: its stylesheet /w/<slug>/brand.css, linked by every
fragment and frame and adopted by the loader, cached like the widgets and purged on a change."""

import re
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from reputable.conftest import ShopAccess, wsgi_call
from reputable.shops.models import Shop
from reputable.widgets import brand
from reputable.widgets.views import STATIC

pytestmark = pytest.mark.usefixtures("now")

RED = "#c8102e"  # dark enough to read on white, too dark on the dark theme


def set_colour(shop: ShopAccess, colour: str, capture: Any) -> None:
    with capture(execute=True):  # the cache is purged once the change commits
        assert shop.patch("/api/v1/shop", {"brand_colour": colour}).status_code == 200


def stylesheet(slug: str) -> str:
    status, headers, body = wsgi_call(f"/w/{slug}/brand.css")
    assert status == "200 OK" and headers["Content-Type"] == "text/css; charset=utf-8"
    return body.decode()


def test_a_shop_without_a_colour_gets_reputables_own(alice: ShopAccess) -> None:
    css = stylesheet(alice.shop.slug)

    assert css == f".rp{{--rp-brand:{brand.DEFAULT};--rp-brand-dark:{brand.DEFAULT_DARK}}}\n"
    # The same colours widgets.css falls back to where no brand.css is loaded.
    styles = (STATIC / "widgets.css").read_text()
    assert f"--rp-accent:var(--rp-brand,{brand.DEFAULT})" in styles
    assert f"--rp-accent:var(--rp-brand-dark,{brand.DEFAULT_DARK})" in styles


def test_a_shops_colour_is_in_its_stylesheet_and_legible_in_the_dark_theme(
    alice: ShopAccess, django_capture_on_commit_callbacks: Any
) -> None:
    set_colour(alice, "#C8102E", django_capture_on_commit_callbacks)

    found = re.fullmatch(r"\.rp\{--rp-brand:(#\w{6});--rp-brand-dark:(#\w{6})\}\n", stylesheet("alice-teas"))
    assert found is not None
    light, dark = found.groups()
    assert light == RED  # as chosen (stored in lower case)
    assert dark != RED and brand.contrast(dark, brand.DARK_BACKGROUND) >= 4.5


def test_a_stored_value_that_is_no_colour_never_reaches_the_stylesheet(alice: ShopAccess) -> None:
    Shop.objects.filter(pk=alice.shop.pk).update(brand_colour="}*{x:1")  # by hand, past validation

    assert stylesheet(alice.shop.slug) == brand.stylesheet("")


def test_a_colour_too_faint_to_read_as_text_is_darkened_just_enough() -> None:
    light, dark = brand.accents("#ffd700")  # gold: 1.4 : 1 on white

    assert brand.contrast(light, brand.LIGHT_BACKGROUND) >= 4.5
    assert light not in ("#ffd700", "#000000")
    assert dark == "#ffd700"  # on the dark background it reads as it is


@given(st.from_regex(r"#[0-9a-f]{6}", fullmatch=True))
def test_every_colour_becomes_an_accent_legible_in_both_themes(colour: str) -> None:
    light, dark = brand.accents(colour)

    assert brand.contrast(light, brand.LIGHT_BACKGROUND) >= brand.MIN_CONTRAST
    assert brand.contrast(dark, brand.DARK_BACKGROUND) >= brand.MIN_CONTRAST


def test_changing_the_colour_drops_the_cached_stylesheet_and_widgets(
    alice: ShopAccess, django_capture_on_commit_callbacks: Any
) -> None:
    slug = alice.shop.slug
    before = stylesheet(slug)
    seal = wsgi_call(f"/w/{slug}/badge.svg")[2]
    with CaptureQueriesContext(connection) as queries:
        assert stylesheet(slug) == before
    assert len(queries) == 0  # answered from the cache

    set_colour(alice, RED, django_capture_on_commit_callbacks)

    assert RED in stylesheet(slug) != before
    assert RED.encode() in wsgi_call(f"/w/{slug}/badge.svg")[2] != seal
    set_colour(alice, "", django_capture_on_commit_callbacks)
    assert stylesheet(slug) == before


def test_the_stylesheet_is_public_and_cacheable_like_a_widget(alice: ShopAccess) -> None:
    status, headers, _body = wsgi_call(f"/w/{alice.shop.slug}/brand.css")

    assert status == "200 OK"
    assert headers["Cache-Control"] == "public, max-age=300, stale-while-revalidate=86400"
    assert headers["Access-Control-Allow-Origin"] == "*" and "Set-Cookie" not in headers
    assert wsgi_call(f"/w/{alice.shop.slug}/brand.css", headers={"If-None-Match": headers["ETag"]})[0].startswith("304")
    assert Client().get("/w/no-such-shop/brand.css").status_code == 404


def test_fragments_and_frames_link_the_stylesheet_and_the_loader_adopts_it(
    alice: ShopAccess, django_capture_on_commit_callbacks: Any
) -> None:
    set_colour(alice, RED, django_capture_on_commit_callbacks)
    fragment = Client().get("/w/alice-teas/badge").content.decode()
    frame = Client().get("/w/alice-teas/frame/badge").content.decode()

    assert f'<link rel="stylesheet" href="{settings.BASE_URL}/w/alice-teas/brand.css">' in fragment
    assert '<link rel="stylesheet" href="../brand.css">' in frame  # relative, as its other styles
    assert " style=" not in fragment + frame and RED not in fragment + frame  # the colour is in the stylesheet only
    assert "/brand.css`" in (STATIC / "embed.js").read_text()
    assert Client().get("/w/alice-teas/badge.json").json()["shop"]["brand_colour"] == RED
