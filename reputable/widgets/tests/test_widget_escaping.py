"""Hostile text in every place a customer, a shop system or the shop's team can put it, through
every widget, the structured data, the JSON and the profile: it stays text, nothing of it
becomes markup."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from reputable.conftest import ShopAccess, as_published, join, person, write_review
from reputable.reviews.actions import reply_to_review

PAYLOADS = [
    line
    for line in (Path(__file__).parents[2] / "tests" / "data" / "xss_payloads.txt").read_text().splitlines()
    if line
]
# Everything the widgets and the profile write themselves; a payload's tag would be new.
OUR_TAGS = {
    "html", "head", "body", "meta", "title", "link", "script", "main", "header", "footer", "section", "nav", "div",
    "span", "a", "p", "h1", "h2", "h3", "strong", "ul", "ol", "li", "article", "time", "svg", "path", "rect", "circle",
    "polyline", "line", "text", "g", "table", "caption", "thead", "tbody", "tr", "th", "td", "figure", "figcaption",
    "form", "input", "label", "button", "br",
}  # fmt: skip


class Markup(HTMLParser):
    """What a browser's parser would make of a page: its tags, attributes and script blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def assert_inert(html: str, where: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    markup.close()
    for tag, attrs in markup.tags:
        assert tag in OUR_TAGS, (where, tag)
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, name)
            if name in ("href", "src", "action"):
                # Absolute, or relative to the page (a frame's own script and styles): ours either way.
                url = urljoin(f"http://localhost:8000{where}", value or "")
                assert url.startswith("http://localhost:8000/"), (where, tag, value)
        if tag == "script":
            assert attrs.get("type") == "application/ld+json" or attrs.get("src") == "../../frame.js", (where, attrs)
    for block in markup.scripts:
        json.loads(block)  # a JSON-LD block is whole: nothing broke out of it
    return markup


@pytest.fixture(scope="module")
def payloads() -> list[str]:
    assert len(PAYLOADS) >= 200
    return PAYLOADS


def reply_text(payload: str) -> str:
    """The shop's reply to the review of `payload`, as stored (stripped, cut to its length)."""
    return f"Re: {payload}"[:5000].strip()


@pytest.fixture
def hostile(alice: ShopAccess, now: Any, payloads: list[str]) -> ShopAccess:
    """One review per payload: as the reviewer's first name, the title, the text, the product's
    name, SKU and brand, and the product review's text; and the shop's reply to it (written
    by the action: how it is shown is what this file tests)."""
    responder = person("responder@alice-teas.example")
    join(alice.shop, responder, "responder")
    for n, payload in enumerate(payloads):
        sku = payload[:100] if payload.strip() == payload else f"SKU-{n}"
        review = write_review(
            alice,
            f"x{n}",
            1 + n % 5,
            title=payload[:120],
            body=payload,
            products={sku: (1 + (n + 2) % 5, payload)},
            product_details={sku: {"name": payload[:255], "brand": payload[:100]}},
            customer={"first_name": payload[:100]},
        )
        reply_to_review(review=review, body=reply_text(payload), author=responder, now=timezone.now())
    return alice


def test_no_payload_becomes_markup_in_any_widget_the_structured_data_or_the_profile(
    hostile: ShopAccess, payloads: list[str]
) -> None:
    """One shop full of hostile reviews (written once: it takes a while), read every way."""
    shown_everywhere(hostile, payloads)
    structured_data_whole(hostile)
    json_as_written(hostile, payloads)


def shown_everywhere(hostile: ShopAccess, payloads: list[str]) -> None:
    client, slug = Client(), hostile.shop.slug
    skus = list(hostile.shop.products.values_list("sku", flat=True))
    pages = -(-len(payloads) // 20)
    paths = [f"/w/{slug}/reviews?limit=20&page={page}" for page in range(1, pages + 1)]
    paths += [f"/s/{slug}/?page={page}" for page in range(1, -(-len(payloads) // 20) + 1)]
    paths += [f"/w/{slug}/carousel?limit=20", f"/w/{slug}/badge", f"/s/{slug}/how-reviews-work"]
    paths += [
        f"/w/{slug}/stars?" + "&".join(f"sku={quote(sku, safe='')}" for sku in skus[i : i + 100])
        for i in range(0, len(skus), 100)
    ]
    paths += [f"/w/{slug}/frame/reviews?limit=20&page={page}" for page in range(1, pages + 1)]
    shown = ""
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert_inert(html, path)
        shown += html
    for payload in payloads[:50]:  # and it is shown, as text
        assert html_text(payload[:120]) in shown or payload.strip() != payload
        assert html_text(reply_text(payload)) in shown


def html_text(text: str) -> str:
    return escape(text)


def structured_data_whole(hostile: ShopAccess) -> None:
    client, slug = Client(), hostile.shop.slug
    for product in hostile.shop.products.all():
        response = client.get(f"/w/{slug}/reviews", {"sku": product.sku})
        markup = assert_inert(response.content.decode(), f"/w/{slug}/reviews")
        (block,) = markup.scripts
        data = json.loads(block)
        assert (data["name"], data["sku"], data["brand"]["name"]) == (product.name, product.sku, product.brand)
        review = product.reviews.get()
        assert data["review"][0]["reviewBody"] == review.body
        assert data["review"][0]["author"]["name"] == (review.review.author_name or "Anonymous")
        assert data["review"][0]["comment"]["text"] == review.review.reply.body
        assert "</script" not in block.lower() and "<!--" not in block


def json_as_written(hostile: ShopAccess, payloads: list[str]) -> None:
    client, slug = Client(), hostile.shop.slug
    titles, replies = [], []
    for page in range(1, -(-len(payloads) // 20) + 1):
        reviews = client.get(f"/w/{slug}/reviews.json", {"limit": 20, "page": page}).json()["reviews"]
        titles += [r["title"] for r in reviews]
        replies += [r["reply"]["body"] for r in reviews]
    # As published: the checks at submission mask the addresses some payloads hold.
    assert sorted(titles) == sorted(as_published(p[:120].strip()) for p in payloads)
    assert sorted(replies) == sorted(reply_text(p) for p in payloads)


def test_the_seal_image_stays_well_formed_xml_with_a_hostile_shop_name(alice: ShopAccess, payloads: list[str]) -> None:
    for payload in payloads:
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", payload):
            continue
        alice.shop.name = payload[:200]
        alice.shop.save()
        svg = Client().get(f"/w/{alice.shop.slug}/badge.svg?lang=en").content.decode()
        root = ElementTree.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert [child.tag.split("}")[1] for child in root] == ["title", "rect", "g"]
        assert root[0].text == f"{payload[:200]}: No reviews yet"
