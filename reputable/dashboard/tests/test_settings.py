"""The settings section: the shop's profile, its logo and colour, its API keys."""

import datetime as dt
import io
import re
import struct
import zlib
from typing import Any

import pytest
from django.core import serializers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image, PngImagePlugin

from reputable.conftest import MONDAY, ShopAccess, Team, checkout, wsgi_call
from reputable.shops.models import ApiKey, Shop

pytestmark = pytest.mark.usefixtures("now")


SETTINGS = "/dashboard/alice-teas/settings"
KEYS = "/dashboard/alice-teas/settings/api-keys"


def form(shop: Shop, **changes: Any) -> dict[str, Any]:
    """The settings form as the page fills it for `shop`, with `changes`."""
    fields = {
        "name": shop.name,
        "website": shop.website,
        "country": shop.country,
        "subdivision": shop.subdivision,
        "timezone": shop.timezone,
        "default_locale": shop.default_locale,
        "sender_name": shop.sender_name,
        "reply_to": shop.reply_to,
        "frequency_cap_days": shop.frequency_cap_days,
        "edit_window_days": shop.edit_window_days,
        "retention_months": shop.retention_months,
        "brand_colour": shop.brand_colour or "#1a5a4b",
    }
    return fields | changes


def updates(queries: CaptureQueriesContext) -> list[str]:
    """The UPDATE statements among `queries` (the SELECT of a key runs as plain SQL, which on
    SQLite the ORM's query log does not see)."""
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


def stored(shop: Shop) -> str:
    return serializers.serialize("json", Shop.objects.filter(pk=shop.pk))


def image(kind: str = "PNG", size: tuple[int, int] = (64, 64), mode: str = "RGB", **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 16, 46, 128)[: len(mode)]).save(out, format=kind, **save)
    return out.getvalue()


def upload(data: bytes, name: str = "logo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def png_bomb(width: int, height: int, *, rows: int | None = None) -> bytes:
    """A greyscale PNG of `width` × `height` black pixels (or of its first `rows`): a small
    file that unpacks to width × height bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # a filter byte and the pixels
    pixels = b"".join(packer.compress(row) for _ in range(height if rows is None else rows)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


# --- the profile ---------------------------------------------------------------------------------


def test_a_manager_changes_the_shops_profile_and_its_widgets_show_it_at_once(
    alice: ShopAccess, team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    client = team.client(team.bob["manager"])
    before = wsgi_call("/w/alice-teas/badge.json")[2]
    changes = {
        "name": "Alice's Teas & Tisanes",
        "website": "alice-teas.example",
        "subdivision": "by",
        "timezone": "Europe/Vienna",
        "default_locale": "nl",
        "sender_name": "Alice from Alice Teas",
        "reply_to": "hello@alice-teas.example",
        "frequency_cap_days": "60",
        "edit_window_days": "30",
        "brand_colour": "#C8102E",
    }

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(SETTINGS, form(alice.shop, **changes))

    assert answer.status_code == 302 and answer["Location"] == SETTINGS
    shop = Shop.objects.get(pk=alice.shop.pk)
    assert (shop.name, shop.website, shop.country, shop.subdivision, shop.timezone) == (
        "Alice's Teas & Tisanes",
        "https://alice-teas.example",
        "DE",
        "BY",  # as `holidays` spells it
        "Europe/Vienna",
    )
    assert (shop.default_locale, shop.sender_name, shop.reply_to) == (
        "nl",
        "Alice from Alice Teas",
        "hello@alice-teas.example",
    )
    assert (shop.frequency_cap_days, shop.edit_window_days, shop.brand_colour) == (60, 30, "#c8102e")
    page = client.get(SETTINGS).content.decode()
    assert "The settings are saved." in page and 'value="Alice&#x27;s Teas &amp; Tisanes"' in page
    widget = wsgi_call("/w/alice-teas/badge.json")[2]
    assert widget != before and "Alice's Teas & Tisanes" in widget.decode()
    # The API reads what the dashboard wrote: one shop, one write path.
    assert alice.api.get("/api/v1/shop").json()["subdivision"] == "BY"


def test_an_unchanged_form_changes_nothing_and_keeps_reputables_colour(alice: ShopAccess, team: Team) -> None:
    before = stored(alice.shop)

    answer = team.client(team.alice).post(SETTINGS, form(alice.shop))

    assert answer.status_code == 302
    assert stored(alice.shop) == before  # the colour input sent the default colour: still none of its own


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("name", "Alice\u0007Teas", "must be one line of text"),
        ("country", "XX", "Select a valid choice."),
        ("subdivision", "ZZ", "ZZ is not a region of DE with public holidays of its own."),
        ("timezone", "Mars/Olympus", "Select a valid choice."),
        ("website", "javascript:alert(1)", "Enter a valid URL."),
        ("reply_to", "nope", "Enter a valid email address."),
        ("frequency_cap_days", "-1", "greater than or equal to 0"),
        ("edit_window_days", "400", "less than or equal to 365"),
        ("brand_colour", "red", "a colour as #rrggbb"),
    ],
)
def test_bad_settings_are_refused_next_to_their_field_and_nothing_is_stored(
    alice: ShopAccess, team: Team, field: str, value: str, message: str
) -> None:
    before = stored(alice.shop)

    answer = team.client(team.alice).post(SETTINGS, form(alice.shop, sender_name="Changed", **{field: value}))

    assert answer.status_code == 400
    page = answer.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>([^<]*)</li>', page)
    assert errors is not None and message in errors[1].replace("&#x27;", "'")
    assert re.search(rf'id="id_{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_{field}"', page)
    assert stored(alice.shop) == before  # not even the valid change
    assert '<span class="shop-name">Alice Teas</span>' in page  # the page shows what is stored


def test_a_new_country_needs_a_region_of_its_own(alice: ShopAccess, team: Team) -> None:
    client = team.client(team.alice)
    client.post(SETTINGS, form(alice.shop, subdivision="BY"))

    answer = client.post(SETTINGS, form(Shop.objects.get(pk=alice.shop.pk), country="NL", timezone="Europe/Amsterdam"))

    assert answer.status_code == 400
    assert "BY is not a region of NL" in answer.content.decode()
    assert "Midden, Noord, Zuid" in answer.content.decode()
    assert Shop.objects.get(pk=alice.shop.pk).country == "DE"


def test_the_api_takes_the_same_settings_by_the_same_rules(alice: ShopAccess) -> None:
    alice.patch("/api/v1/shop", {"subdivision": "BY"})
    refused = alice.patch("/api/v1/shop", {"country": "NL"})  # Alice's region BY is German
    assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "subdivision"

    changed = alice.patch("/api/v1/shop", {"country": "nl", "subdivision": "zuid", "brand_colour": "#ABCDEF"})

    assert changed.status_code == 200
    assert {k: changed.json()[k] for k in ("country", "subdivision", "brand_colour")} == {
        "country": "NL",
        "subdivision": "Zuid",
        "brand_colour": "#abcdef",
    }
    assert alice.patch("/api/v1/shop", {"brand_colour": "blue"}).json()["fields"][0]["field"] == "brand_colour"


def test_a_viewer_sees_the_settings_but_may_not_change_them(alice: ShopAccess, team: Team) -> None:
    viewer = team.client(team.bob["viewer"])
    before = stored(alice.shop)

    page = viewer.get(SETTINGS).content.decode()
    refused = viewer.post(SETTINGS, form(alice.shop, name="Bob's Teas"))

    assert 'value="Alice Teas"' in page and re.search(r'<input type="text" name="name"[^>]* disabled', page)
    assert "Save the settings" not in page
    assert refused.status_code == 403 and stored(alice.shop) == before


# --- the logo ------------------------------------------------------------------------------------


def test_an_uploaded_logo_becomes_a_small_png_of_its_pixels_only(alice: ShopAccess, team: Team) -> None:
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    exif[0x0112] = 6  # Orientation: turned 90° clockwise
    photo = image("JPEG", (1200, 800), exif=exif.tobytes(), comment=b"secret comment")

    answer = team.client(team.alice).post(SETTINGS, form(alice.shop, logo=upload(photo, "logo.jpg")))

    assert answer.status_code == 302
    logo = Shop.objects.get(pk=alice.shop.pk).logo_png
    assert logo is not None and b"secret" not in logo
    with Image.open(io.BytesIO(logo)) as stored_logo:
        assert (stored_logo.format, stored_logo.size, stored_logo.mode) == ("PNG", (341, 512), "RGB")  # upright
        assert not set(stored_logo.info) & {"exif", "icc_profile", "comment"}


def test_a_transparent_logo_keeps_its_transparency_and_nothing_else(alice: ShopAccess, team: Team) -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "secret comment")
    png = image("PNG", (100, 40), mode="RGBA", pnginfo=text)

    team.client(team.alice).post(SETTINGS, form(alice.shop, logo=upload(png)))

    logo = bytes(Shop.objects.get(pk=alice.shop.pk).logo_png)  # type: ignore[arg-type]
    assert b"secret" not in logo
    with Image.open(io.BytesIO(logo)) as stored_logo:
        assert (stored_logo.size, stored_logo.mode) == ((100, 40), "RGBA")


def test_the_logo_is_served_cacheable_and_shown_on_the_public_profile(alice: ShopAccess, team: Team) -> None:
    assert Client().get("/s/alice-teas/logo.png").status_code == 404
    assert '<img class="shop-logo"' not in Client().get("/s/alice-teas/").content.decode()
    team.client(team.alice).post(SETTINGS, form(alice.shop, logo=upload(image())))

    served = Client().get("/s/alice-teas/logo.png")
    again = Client().get("/s/alice-teas/logo.png", headers={"If-None-Match": served["ETag"]})
    profile = Client().get("/s/alice-teas/").content.decode()

    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served.content == Shop.objects.get(pk=alice.shop.pk).logo_png
    assert served["Cache-Control"] == "public, max-age=300, stale-while-revalidate=86400"
    assert again.status_code == 304
    assert '<img class="shop-logo" src="/s/alice-teas/logo.png" alt="Alice Teas">' in profile
    assert 'src="/s/alice-teas/logo.png?v=' in team.client(team.alice).get(SETTINGS).content.decode()


def test_the_logo_can_be_removed(alice: ShopAccess, team: Team) -> None:
    client = team.client(team.alice)
    client.post(SETTINGS, form(alice.shop, logo=upload(image())))
    assert "Remove the logo" in client.get(SETTINGS).content.decode()

    answer = client.post(SETTINGS, form(alice.shop, remove_logo="on"))

    assert answer.status_code == 302
    assert Shop.objects.get(pk=alice.shop.pk).logo_png is None
    assert Client().get("/s/alice-teas/logo.png").status_code == 404
    assert '<img class="shop-logo"' not in Client().get("/s/alice-teas/").content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"just some text, no image", "Upload a PNG, JPEG, GIF or WebP image."),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "Upload a PNG"),
        (image("BMP"), "Upload a PNG"),  # an image, but not of a kind a logo comes as
        (image()[:60], "Upload a PNG"),  # cut off
        (image() + b"\0" * (2 * 1024 * 1024), "The image is larger than 2 MB."),
        (png_bomb(6000, 6000), "The image has too many pixels"),  # 36 KB that unpack to 36 MB
        (png_bomb(30000, 30000, rows=10), "The image has too many pixels"),  # past Pillow's own limit
    ],
    ids=["text", "svg", "bmp", "truncated", "over 2 MB", "bomb", "huge bomb"],
)
def test_a_logo_that_is_not_a_small_image_is_refused_and_the_old_one_kept(
    alice: ShopAccess, team: Team, data: bytes, message: str
) -> None:
    client = team.client(team.alice)
    client.post(SETTINGS, form(alice.shop, logo=upload(image())))
    before = stored(alice.shop)

    answer = client.post(SETTINGS, form(alice.shop, name="Changed", logo=upload(data)))

    assert answer.status_code == 400
    errors = re.search(r'<ul class="errorlist" id="id_logo_error"><li>([^<]*)</li>', answer.content.decode())
    assert errors is not None and message in errors[1]
    assert stored(alice.shop) == before


# --- API keys ------------------------------------------------------------------------------------


def test_a_manager_makes_a_key_sees_it_once_and_it_works(alice: ShopAccess, team: Team) -> None:
    client = team.client(team.bob["manager"])

    answer = client.post(KEYS, {"name": "ERP", "scopes": ["read", "write"]})

    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    raw = answer.context["raw"]
    assert f'value="{raw}"' in answer.content.decode()
    key = ApiKey.objects.get(shop=alice.shop, name="ERP")
    assert raw.startswith(key.prefix) and key.scopes == "read write"
    listed = client.get(KEYS).content.decode()
    assert "ERP" in listed and f"{key.prefix}…" in listed and raw not in listed
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.post("/api/v1/events", checkout(), content_type="application/json").status_code == 202


def test_a_read_key_may_only_read(alice: ShopAccess, team: Team) -> None:
    answer = team.client(team.alice).post(KEYS, {"name": "Reports", "scopes": ["read"]})

    api = Client(headers={"Authorization": f"Bearer {answer.context['raw']}"})
    assert ApiKey.objects.get(name="Reports").scopes == "read"
    assert api.get("/api/v1/shop").status_code == 200
    assert api.post("/api/v1/events", checkout(), content_type="application/json").status_code == 403


@pytest.mark.parametrize("bad", [{"name": ""}, {"scopes": []}, {"scopes": ["admin"]}, {"name": "ERP\u0000"}])
def test_a_key_without_a_name_or_a_known_scope_is_not_made(alice: ShopAccess, team: Team, bad: dict) -> None:
    answer = team.client(team.alice).post(KEYS, {"name": "ERP", "scopes": ["read"]} | bad)

    assert answer.status_code == 400
    assert f'id="id_{next(iter(bad))}_error"' in answer.content.decode()
    assert ApiKey.objects.filter(shop=alice.shop).count() == 1


def test_a_manager_revokes_a_key_and_it_stops_working_at_once(alice: ShopAccess, team: Team) -> None:
    client = team.client(team.bob["manager"])
    key = ApiKey.objects.get(shop=alice.shop)

    answer = client.post(f"{KEYS}/{key.pk}/revoke")

    assert answer.status_code == 302 and answer["Location"] == KEYS
    assert alice.api.get("/api/v1/shop").status_code == 401
    listed = client.get(KEYS).content.decode()
    assert f"The key {key.prefix}… is revoked: it no longer works." in listed
    assert "revoked 11/23/2026 10 a.m." in listed  # in the shop's time zone


def test_a_viewer_sees_the_keys_but_neither_makes_nor_revokes_one(alice: ShopAccess, team: Team) -> None:
    viewer = team.client(team.bob["viewer"])
    key = ApiKey.objects.get(shop=alice.shop)

    listed = viewer.get(KEYS).content.decode()

    assert "first key" in listed and f"{key.prefix}…" in listed
    assert "Make the key" not in listed and "Revoke" not in listed
    assert viewer.post(KEYS, {"name": "Mine", "scopes": ["read"]}).status_code == 403
    assert viewer.post(f"{KEYS}/{key.pk}/revoke").status_code == 403
    assert ApiKey.objects.get(shop=alice.shop).revoked_at is None


def test_a_keys_last_use_is_written_at_most_once_an_hour(alice: ShopAccess, team: Team, now: Any) -> None:
    key = ApiKey.objects.get(shop=alice.shop)
    assert "never" in team.client(team.alice).get(KEYS).content.decode()

    with CaptureQueriesContext(connection) as first:
        assert alice.api.get("/api/v1/shop").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == MONDAY and len(updates(first)) == 1

    now.shift(dt.timedelta(minutes=59))
    with CaptureQueriesContext(connection) as second:
        assert alice.api.get("/api/v1/shop").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == MONDAY and updates(second) == []

    now.shift(dt.timedelta(minutes=2))
    alice.api.get("/api/v1/shop")
    key.refresh_from_db()
    assert key.last_used_at == MONDAY + dt.timedelta(minutes=61)
    assert "never" not in team.client(team.alice).get(KEYS).content.decode()
