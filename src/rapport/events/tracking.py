"""The Segment-compatible HTTP tracking API: ``/v1/identify``, ``/v1/track``, … ``/v1/batch``.

Existing Segment and RudderStack client libraries work unchanged when their host points here.
The write key is the HTTP basic-auth user name (or ``writeKey`` in the body); bodies may be
gzip-compressed; a message is at most 32 KB and a request at most 500 KB. The answer is 200
only once the validated messages are committed to the staging table (the resolver then stores
them as events, each message id once); every refusal is 400/401/413 with a reason and stores
nothing.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import logging
import zlib

import orjson
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rapport.core.errors import FieldError
from rapport.events.ingest import ingest
from rapport.events.messages import MAX_BATCH_BYTES, BadMessage, TooLarge, parse_body
from rapport.events.models import EventType, Source
from rapport.events.services import source_for_key

logger = logging.getLogger(__name__)


def _refuse(status: int, code: str, message: str, errors: list[FieldError] | None = None) -> JsonResponse:
    body: dict[str, object] = {"code": code, "message": message}
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    return JsonResponse(body, status=status)


def _write_key(request: HttpRequest, body: object) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.split(":", 1)[0]
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        return body["writeKey"]
    return ""


def _read_body(request: HttpRequest) -> bytes:
    """The request body, decompressed, refusing anything over the batch limit (gzip bombs too)."""
    length = request.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > MAX_BATCH_BYTES * 2:
        raise TooLarge("a request body is at most 500 KB")
    raw = request.read(MAX_BATCH_BYTES * 2 + 1)
    encoding = request.headers.get("Content-Encoding", "").lower()
    if encoding == "gzip":
        try:
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = decompressor.decompress(raw, MAX_BATCH_BYTES + 1)
        except zlib.error as exc:
            raise gzip.BadGzipFile(str(exc)) from exc
    if len(raw) > MAX_BATCH_BYTES:
        raise TooLarge("a request body is at most 500 KB")
    return raw


def _handle(request: HttpRequest, implied_type: str | None) -> JsonResponse:
    received_at = timezone.now()
    try:
        raw = _read_body(request)
    except TooLarge as exc:
        return _refuse(413, "too_large", str(exc))
    except gzip.BadGzipFile:
        return _refuse(400, "bad_encoding", "the body is not valid gzip")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _refuse(400, "invalid_json", f"the body is not valid JSON: {exc}")
    key = _write_key(request, body)
    source: Source | None = source_for_key(key)
    if source is None:
        return _refuse(401, "unauthorized", "unknown write key: send it as the basic-auth user name")
    if not source.is_enabled:
        return _refuse(401, "source_disabled", f"the source {source.name!r} is disabled")
    try:
        parsed = parse_body(body, received_at=received_at, implied_type=implied_type)
    except TooLarge as exc:
        return _refuse(413, "too_large", str(exc))
    except BadMessage as exc:
        return _refuse(400, "invalid_request", str(exc), exc.errors)
    result = ingest(source, parsed.messages)
    answer: dict[str, object] = {"success": True, "accepted": result.accepted, "duplicates": result.duplicates}
    if parsed.rejected:
        answer["rejected"] = [e.as_dict() for e in parsed.rejected]
    return JsonResponse(answer)


def _endpoint(implied_type: str | None):
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest) -> JsonResponse:
        return _handle(request, implied_type)

    view.__name__ = f"tracking_{implied_type or 'batch'}"
    return view


identify = _endpoint(EventType.IDENTIFY)
track = _endpoint(EventType.TRACK)
page = _endpoint(EventType.PAGE)
screen = _endpoint(EventType.SCREEN)
alias = _endpoint(EventType.ALIAS)
group = _endpoint(EventType.GROUP)
batch = _endpoint(None)
