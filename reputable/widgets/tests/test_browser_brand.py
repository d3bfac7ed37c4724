"""The shop's brand colour in a real Chromium: through the loader (Shadow DOM), in a frame and
in a server-side included fragment, under the shop's strict CSP, in the light and dark themes.
The harness is test_browser_widgets.py's (a shop on a second origin, loopback only)."""

from typing import Any

import pytest

from reputable.conftest import ShopAccess
from reputable.widgets import brand
from reputable.widgets.tests import test_browser_widgets as harness
from reputable.widgets.tests.test_browser_widgets import (
    FRAME_HEIGHTS,
    OpenVisit,
    Reputable,
    ShopSite,
    assert_none,
    element,
    frame_url,
    iframe,
    loader_head,
    open_shop_page,
    shop_page,
)

# The harness's fixtures, for this module too.
browser = harness.browser
reputable = harness.reputable
shop_site = harness.shop_site
visit = harness.visit

pytestmark = pytest.mark.django_db(transaction=True)

RED = "#c8102e"
TITLE_COLOUR = "(el) => getComputedStyle(el).color"


def rgb(colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))


def test_the_brand_colour_reaches_every_widget_without_inline_styles(
    alice: ShopAccess, now: Any, reputable: Reputable, shop_site: ShopSite, visit: OpenVisit
) -> None:
    assert alice.patch("/api/v1/shop", {"brand_colour": RED.upper()}).status_code == 200
    slug = alice.shop.slug
    included = reputable.fetch(f"/w/{slug}/badge?lang=en&theme=light")  # as a shop's server includes it
    framed = frame_url(reputable, shop_site, slug, "badge", lang="en", theme="light")
    body = "\n".join(
        [
            element("badge", shop=slug, lang="en", theme="light"),
            element("badge", shop=slug, lang="en", theme="dark"),
            iframe(framed, "badge", "Our reviews", FRAME_HEIGHTS["badge"]),
            f'<div class="included">{included}</div>',
        ]
    )
    shop_site.pages["/"] = shop_page("Our reviews", body, head=loader_head(reputable))
    seen = visit()

    open_shop_page(seen, shop_site)

    page = seen.page
    light, dark = brand.accents(RED)
    shadow = [
        page.evaluate(
            "(i) => getComputedStyle(document.querySelectorAll('reputable-badge')[i]"
            ".shadowRoot.querySelector('.rp-seal-title')).color",
            i,
        )
        for i in (0, 1)
    ]
    assert shadow == [rgb(light), rgb(dark)]
    assert light == RED and dark != RED  # the dark theme's is lightened to be read
    frame = next(f for f in seen.frames() if f.parent_frame is not None)
    assert frame.eval_on_selector(".rp-seal-title", TITLE_COLOUR) == rgb(RED)
    assert page.eval_on_selector(".included .rp-seal-title", TITLE_COLOUR) == rgb(RED)
    assert_none(seen.problems())  # no CSP violation, shift, cookie or other host
