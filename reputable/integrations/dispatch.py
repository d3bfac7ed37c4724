"""The integrations' due work, autodiscovered by the dispatch app."""

from reputable.integrations import import_work, pulls  # noqa: F401
