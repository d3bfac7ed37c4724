"""Settings for dispatchers started by the tests: the project's, with the test email templates."""

from reputable.settings import *  # noqa: F403
from reputable.settings import BASE_DIR, TEMPLATES

TEMPLATES[0]["DIRS"] = [BASE_DIR / "dispatch" / "tests" / "templates"]
