"""The integrations' due work, autodiscovered by the dispatch app."""

from reputable.integrations import import_work, pulls, review_pulls  # noqa: F401
