"""The import page's preview step: parse and check an upload, show its first rows and every
error, write nothing; then carry the same bytes to the confirming request.

The upload travels to the confirm step inside the page as a signed, compressed token (bound
to the campaign and the user, valid for an hour), so nothing is stored at preview and the PM
need not choose the file again. A file whose token would be too large to post back is not
carried: the PM chooses it again to import.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.conf import settings
from django.core import signing

from annotate.importers.base import ParsedResponse, RowError
from annotate.models import Campaign
from annotate.services.import_checks import check_upload, file_size

PREVIEW_ROWS = 10
TOKEN_MAX_AGE_SECONDS = 3600
# Room left in the confirming POST for the other fields and multipart framing.
POST_MARGIN_BYTES = 64 * 1024


@dataclass(frozen=True)
class PreviewRow:
    line: int
    external_id: str
    prompt: str  # the last user turn
    turns: int  # messages before the responses, the last user turn included
    responses: tuple[ParsedResponse, ...]
    metadata: dict[str, Any]
    labels: int  # labels the row carries (imported annotations once imported)


@dataclass(frozen=True)
class ImportPreview:
    """The first ``PREVIEW_ROWS`` valid rows and the full error report (as an import gives
    it: the first ``MAX_REPORTED_ERRORS`` listed in line order, all counted)."""

    rows: tuple[PreviewRow, ...]
    valid_rows: int
    labels: int  # labels carried by all valid rows
    errors: tuple[RowError, ...]
    total_errors: int

    @property
    def can_import(self) -> bool:
        return self.total_errors == 0

    @property
    def more_errors(self) -> int:
        return self.total_errors - len(self.errors)


class PreviewExpired(Exception):
    """The confirm step's token is forged, for another campaign or user, or too old."""


def preview_import(
    *, campaign: Campaign, file_format: str, data: bytes | None = None, file: BinaryIO | None = None
) -> ImportPreview:
    """Check ``file`` (or ``data``) exactly as an import would, and write nothing."""
    check = check_upload(
        campaign=campaign,
        file=file if file is not None else io.BytesIO(data or b""),
        file_format=file_format,
        keep_rows=PREVIEW_ROWS,
    )
    return ImportPreview(
        rows=tuple(
            PreviewRow(
                line=item.line,
                external_id=item.external_id,
                prompt=_last_user_turn(item.messages),
                turns=len(item.messages),
                responses=tuple(item.responses),
                metadata=item.metadata,
                labels=len(item.labels),
            )
            for item in check.first_rows
        ),
        valid_rows=check.valid_rows,
        labels=check.labels,
        errors=check.errors,
        total_errors=check.total_errors,
    )


def _last_user_turn(messages: list[dict[str, str]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message.get("content", "")
    return ""


def _signer(*, campaign: Campaign, user_id: int) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"annotate.import-preview:{campaign.pk}:{user_id}")


def seal_upload(
    *, campaign: Campaign, user_id: int, filename: str, file_format: str, file: BinaryIO
) -> str | None:
    """A token carrying the upload to the confirm step, or None when it would not fit in a
    POST (``DATA_UPLOAD_MAX_MEMORY_SIZE``). A file larger than that limit is not even read."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    size = file_size(file)
    if limit is not None and size > limit:
        return None
    packed = base64.b64encode(zlib.compress(file.read(), 6)).decode("ascii")
    # Signed as plain JSON (not ``sign_object``, which would base64 the base64 again).
    token = _signer(campaign=campaign, user_id=user_id).sign(
        json.dumps({"name": filename, "format": file_format, "data": packed})
    )
    if limit is not None and len(token) > limit - POST_MARGIN_BYTES:
        return None
    return token


@dataclass(frozen=True)
class SealedUpload:
    filename: str
    file_format: str
    data: bytes


def open_sealed_upload(*, campaign: Campaign, user_id: int, token: str) -> SealedUpload:
    """The upload a preview sealed; raises :class:`PreviewExpired` for a bad or old token."""
    try:
        payload = json.loads(
            _signer(campaign=campaign, user_id=user_id).unsign(token, max_age=TOKEN_MAX_AGE_SECONDS)
        )
        # Signed by us, but still bounded: never inflate past the import limit.
        inflater = zlib.decompressobj()
        data = inflater.decompress(base64.b64decode(payload["data"]), settings.IMPORT_MAX_BYTES + 1)
        return SealedUpload(
            filename=str(payload["name"]), file_format=str(payload["format"]), data=data
        )
    except signing.SignatureExpired:
        raise PreviewExpired(
            "The preview is more than an hour old: upload the file again."
        ) from None
    except (signing.BadSignature, KeyError, TypeError, ValueError, zlib.error):
        raise PreviewExpired("The preview could not be confirmed: upload the file again.") from None
