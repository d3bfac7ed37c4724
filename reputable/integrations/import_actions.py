"""Writes of CSV imports: an upload stored and queued, a dry run checked again or imported.

The reading (detection, mapping, rows as events) is in reputable.integrations.imports, the
dispatcher's steps in reputable.integrations.import_work.
"""

import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction as db_transaction
from django.utils import timezone

from reputable.integrations.actions import Refused
from reputable.integrations.imports import MAX_BYTES, Options, read_layout
from reputable.integrations.models import Import, ImportSettings
from reputable.lib.tokens import new_token
from reputable.shops.models import Shop


def imports_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def file_of(imp: Import) -> Path:
    return Path(settings.DATA_DIR) / imp.path


def remove_file(imp: Import) -> None:
    """The file goes once the import is over: it holds customers' addresses."""
    if imp.path:
        file_of(imp).unlink(missing_ok=True)


def store(upload: UploadedFile) -> tuple[str, str, int]:
    """Write the upload under the data folder as it streams in: its path there, SHA-256, size."""
    name = f"imports/{new_token()}.csv"
    target = imports_dir() / name.removeprefix("imports/")
    digest, size = hashlib.sha256(), 0
    try:
        with target.open("xb") as out:
            target.chmod(0o600)
            for chunk in upload.chunks():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise Refused({"file": f"is larger than {MAX_BYTES // (1024 * 1024)} MB"})
                digest.update(chunk)
                out.write(chunk)
        if not size:
            raise Refused({"file": "is empty"})
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return name, digest.hexdigest(), size


def create_import(*, shop: Shop, upload: UploadedFile, options: Options, dry_run: bool, user: Any = None) -> Import:
    """Store the upload and queue its import (or dry run) for the dispatcher; the shop's mapping
    is kept for its next file. Refused (nothing kept) for a file or options it cannot read."""
    path, sha256, size = store(upload)
    try:
        layout = read_layout(Path(settings.DATA_DIR) / path, shop, options)
        with db_transaction.atomic():
            imp = Import.objects.create(
                shop=shop,
                filename=(upload.name or "upload.csv")[-255:],
                path=path,
                sha256=sha256,
                size=size,
                dry_run=dry_run,
                created_by=user,
                **layout,
            )
            _remember(shop, layout["mapping"])
    except BaseException:
        (Path(settings.DATA_DIR) / path).unlink(missing_ok=True)
        raise
    return imp


def _remember(shop: Shop, mapping: dict[str, str]) -> None:
    ImportSettings.objects.update_or_create(shop=shop, defaults={"mapping": mapping, "updated_at": timezone.now()})


_FRESH = {
    "status": Import.Status.QUEUED,
    "position": 0,
    "rows_checked": 0,
    "rows_total": None,
    "rows_done": 0,
    "created": 0,
    "duplicates": 0,
    "errors": [],
    "error_count": 0,
    "finished_at": None,
    "attempts": 0,
    "last_error": "",
}


def _requeue(imp: Import, *, dry_run: bool, **fields: Any) -> None:
    """Queue a finished dry run again (checked anew from its first row): only one whose file is kept."""
    if not (imp.dry_run and imp.is_over and imp.path and file_of(imp).exists()):
        raise Refused({"import": "only a finished dry run whose file is still kept can be run again"})
    values = {**_FRESH, "position": imp.data_start, **fields, "dry_run": dry_run, "due_at": timezone.now()}
    for name, value in values.items():
        setattr(imp, name, value)
    changed = Import.objects.filter(pk=imp.pk, status__in=[Import.Status.DONE, Import.Status.FAILED]).update(**values)
    if not changed:
        raise Refused({"import": "it is running"})


def check_again(*, imp: Import, options: Options) -> None:
    """Read a dry run's file anew with other options (mapping, format) and check it again."""
    if not (imp.path and file_of(imp).exists()):
        raise Refused({"import": "the file is no longer kept: upload it again"})
    layout = read_layout(file_of(imp), imp.shop, options)
    _requeue(imp, dry_run=True, **layout)
    _remember(imp.shop, layout["mapping"])


def start_import(*, imp: Import) -> None:
    """Import the file of a dry run that found no bad row (checked again first, as every import is)."""
    if imp.error_count or imp.status != Import.Status.DONE:
        raise Refused({"import": "only a dry run that found no bad row can be imported"})
    _requeue(imp, dry_run=False)
