"""The hot paths' plain SQL writes every column of the models it writes."""

import pytest
from django.db import models
from django.test.utils import isolate_apps

import reputable.events.actions  # noqa: F401 - defines the ingestion INSERTs
import reputable.invitations.models  # noqa: F401 - defines the invitations' INSERT
from reputable.lib.sql import INSERTS, Insert


def written_models() -> list[type[models.Model]]:
    return sorted({insert.model for insert in INSERTS}, key=lambda m: m._meta.label)


def test_the_hot_paths_write_transactions_products_events_invitations_and_webhook_tries() -> None:
    assert [m._meta.label for m in written_models()] == [
        "events.Event",
        "events.Transaction",
        "events.TransactionProduct",
        "invitations.Invitation",
        "reviews.Product",
        "webhooks.Attempt",
    ]


@pytest.mark.parametrize("insert", INSERTS, ids=lambda i: f"{i.model._meta.label}")
def test_every_concrete_column_is_written_with_a_value_or_its_default(insert: Insert) -> None:
    concrete = {f.column for f in insert.model._meta.concrete_fields if not isinstance(f, models.AutoField)}

    assert {f.column for f in insert.fields} == concrete
    assert insert.missing() == []


@isolate_apps("reputable.lib")
def test_a_column_without_value_or_default_is_reported_before_anything_is_written() -> None:
    class Probe(models.Model):
        name = models.CharField(max_length=10)  # "" by default, as Django gives char fields
        count = models.IntegerField()  # no default: an INSERT without it would fail
        note = models.IntegerField(null=True)

        class Meta:
            app_label = "lib"

        def __str__(self) -> str:
            return self.name

    insert = Insert(Probe, ["note"])
    INSERTS.remove(insert)

    assert insert.missing() == ["count"]
    with pytest.raises(ValueError, match="no value and no default for count"):
        insert.run(None, [(1,)])  # type: ignore[arg-type]  # it raises before it needs a cursor
