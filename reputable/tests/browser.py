"""What the browser tests share: Debian's Chromium through Playwright, and axe-core.

A test module calls `require_chromium()` at import time: without Chromium it is skipped,
unless REPUTABLE_REQUIRE_BROWSER is set (as in CI), where that is an error. The fixtures
here (a plugin of reputable/conftest.py) give it a `browser`, or its own browser made with
`launch()` that depends on `sync_database_calls`.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# axe-core, vendored (see reputable/widgets/tests/data/README.md).
AXE = (Path(__file__).resolve().parent.parent / "widgets" / "tests" / "data" / "axe.min.js").read_text()
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REPUTABLE_REQUIRE_BROWSER"):
            raise RuntimeError(f"no Chromium at {CHROMIUM}: install Debian's chromium package")
        pytest.skip("Debian's chromium is not installed", allow_module_level=True)


def axe_violations(frame: Any, *, disabled: tuple[str, ...] = ()) -> list[str]:
    """axe-core's violations in one document, its open shadow roots included, as
    "url: rule: target (what to fix)" lines. axe sets style attributes as it measures, which
    a strict CSP refuses: run it in a context opened with `bypass_csp=True`."""
    if not frame.evaluate("() => typeof axe === 'object'"):
        frame.evaluate(AXE)  # through the DevTools protocol: the page's CSP does not apply
    options: dict[str, Any] = {"iframes": False, "resultTypes": ["violations"]}
    if disabled:
        options["rules"] = {rule: {"enabled": False} for rule in disabled}
    found = frame.evaluate(
        """async (options) => (await axe.run(document, options)).violations.flatMap((v) =>
          v.nodes.map((n) => `${v.id}: ${JSON.stringify(n.target)} (${n.failureSummary})`))""",
        options,
    )
    return [f"{frame.url}: {line}" for line in found]


@pytest.fixture(scope="module")
def sync_database_calls() -> Iterator[None]:
    """Playwright's sync API keeps an event loop on this thread; the test's own database
    calls (and the database flush after each test) are still plain synchronous ones."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(sync_database_calls: None) -> Iterator[Any]:
    """Headless Chromium for the module's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
