"""CSV imports through the API: `POST /api/v1/imports` (multipart) and each import's progress.

The upload answers 202 once the file is stored and its header read; the dispatcher checks and
records it (see reputable.integrations.import_work), and `GET /api/v1/imports/{id}` tells how
far it got. What cannot be read (no file, not CSV, a required field without a column, an
unknown encoding) is a 422 naming the field, and nothing is kept.
"""

import datetime as dt
import json
from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from reputable.integrations.actions import Refused
from reputable.integrations.import_actions import create_import, start_import
from reputable.integrations.imports import Options
from reputable.integrations.models import Import
from reputable.lib.api import ErrorOut, invalid, refused
from reputable.shops.access import import_of, shop_of

router = Router(tags=["imports"])

LIST_SIZE = 50


class RowErrorOut(Schema):
    row: int = Field(description="the row's number as a spreadsheet shows it (the header is row 1)")
    column: str = Field(description="the CSV column (its header), or the field when no column holds it")
    message: str


class ImportOut(Schema):
    id: int
    status: str = Field(description="`queued`, `running`, `done` or `failed` (a bad row: nothing was imported)")
    phase: str = Field(description="`checking` the whole file, then `recording` it; `over` when finished")
    dry_run: bool
    filename: str
    sha256: str
    size: int
    encoding: str
    delimiter: str
    date_format: str
    event_type: str
    columns: list[str]
    mapping: dict[str, str] = Field(description="Reputable field -> CSV column")
    rows_total: int | None = Field(description="the file's rows (without the header), once checked")
    rows_checked: int
    rows_done: int = Field(description="rows recorded")
    created: int = Field(description="events stored")
    duplicates: int = Field(description="events stored before (by an earlier import of the same rows, say)")
    error_count: int
    errors: list[RowErrorOut] = Field(description="the first 100 bad rows; `error_count` counts them all")
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_phase(imp: Import) -> str:
        return "over" if imp.is_over else "checking" if imp.rows_total is None else "recording"


def _refused(error: Refused) -> Exception:
    return refused(error.fields)


def _mapping(raw: str) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise invalid("mapping", 'must be a JSON object of fields and column names: {"email": "E-Mail", ...}')
    return mapping


@router.post(
    "/imports",
    response={202: ImportOut, 413: ErrorOut, 422: ErrorOut},
    summary="Upload a CSV file of orders to import (or to check, with dry_run)",
    description="Multipart form: `file` (the CSV), optionally `mapping` (JSON: field -> column), `delimiter`, "
    "`encoding` (`utf-8`, `utf-8-sig`, `cp1252`), `date_format` (`iso`, `dd.mm.yyyy`, `dd/mm/yyyy`, "
    "`mm/dd/yyyy`), `event_type` (of rows without a type column; default `checkout`), `dry_run`. "
    "Each left out is detected. The import runs in the background: poll `GET /imports/{id}`.",
)
def upload(
    request: HttpRequest,
    file: File[UploadedFile],
    mapping: Form[str] = "",
    delimiter: Form[str] = "",
    encoding: Form[str] = "",
    date_format: Form[str] = "",
    event_type: Form[str] = "checkout",
    dry_run: Form[bool] = False,
) -> Status[Import]:
    options = Options(
        encoding=encoding,
        delimiter=delimiter,
        date_format=date_format,
        event_type=event_type,
        mapping=_mapping(mapping),
    )
    try:
        imp = create_import(shop=shop_of(request), upload=file, options=options, dry_run=dry_run)
    except Refused as error:
        raise _refused(error) from None
    return Status(202, imp)


@router.get("/imports", response=list[ImportOut], summary="The shop's latest imports, newest first")
def list_imports(request: HttpRequest) -> Any:
    return Import.objects.filter(shop=shop_of(request))[:LIST_SIZE]


@router.get("/imports/{import_id}", response={200: ImportOut, 404: ErrorOut}, summary="An import and its progress")
def get_import(request: HttpRequest, import_id: int) -> Import:
    return import_of(shop_of(request), import_id)


@router.post(
    "/imports/{import_id}/start",
    response={202: ImportOut, 404: ErrorOut, 422: ErrorOut},
    summary="Import the file of a dry run that found no bad row",
)
def start(request: HttpRequest, import_id: int) -> Status[Import]:
    imp = import_of(shop_of(request), import_id)
    try:
        start_import(imp=imp)
    except Refused as error:
        raise _refused(error) from None
    return Status(202, imp)
