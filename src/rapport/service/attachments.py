"""Attachment checks shared by every channel (mail, portal form, API, console).

A file is accepted when its extension is on the allow-list, the declared content type agrees
with it, its first bytes look like that kind of file (for formats with a signature), and it is
within the size limits. Everything else is refused with the file's name and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.http import HttpRequest

from rapport.core.errors import FieldError, InvalidInput

# extension -> (content types accepted for it, leading bytes it must start with, or b"" for text)
ALLOWED: dict[str, tuple[tuple[str, ...], tuple[bytes, ...]]] = {
    ".png": (("image/png",), (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": (("image/jpeg",), (b"\xff\xd8\xff",)),
    ".jpeg": (("image/jpeg",), (b"\xff\xd8\xff",)),
    ".gif": (("image/gif",), (b"GIF87a", b"GIF89a")),
    ".webp": (("image/webp",), (b"RIFF",)),
    ".pdf": (("application/pdf",), (b"%PDF-",)),
    ".txt": (("text/plain",), ()),
    ".csv": (("text/csv", "text/plain", "application/vnd.ms-excel"), ()),
    ".mp4": (("video/mp4",), ()),
}
GENERIC_TYPES = {"application/octet-stream", ""}
MAX_FILES = 10


@dataclass(frozen=True)
class IncomingFile:
    file_name: str
    content_type: str
    data: bytes


def check_files(files: Sequence[IncomingFile], *, field: str = "attachments") -> list[IncomingFile]:
    """Return the files, cleaned, or raise InvalidInput naming every refused file and why."""
    errors: list[FieldError] = []
    if len(files) > MAX_FILES:
        errors.append(FieldError(field, "too_many", f"at most {MAX_FILES} files"))
    limit = settings.RAPPORT_SERVICE_MAX_ATTACHMENT_BYTES
    total_limit = settings.RAPPORT_SERVICE_MAX_ATTACHMENTS_TOTAL_BYTES
    cleaned = []
    for position, incoming in enumerate(files):
        where = f"{field}[{position}]"
        name = PurePosixPath((incoming.file_name or "").replace("\\", "/")).name.strip()[:200]
        extension = PurePosixPath(name.lower()).suffix
        content_type = (incoming.content_type or "").split(";")[0].strip().lower()
        if not name:
            errors.append(FieldError(where, "no_name", "a file needs a name"))
            continue
        if extension not in ALLOWED:
            allowed = ", ".join(sorted(ALLOWED))
            errors.append(
                FieldError(where, "forbidden_type", f"{name}: {extension or 'no'} files are not accepted ({allowed})")
            )
            continue
        types, signatures = ALLOWED[extension]
        if content_type not in GENERIC_TYPES and content_type not in types:
            errors.append(FieldError(where, "type_mismatch", f"{name}: declared {content_type}, expected {types[0]}"))
            continue
        if signatures and not incoming.data.startswith(signatures):
            errors.append(FieldError(where, "bad_content", f"{name}: the content is not a {extension[1:]} file"))
            continue
        if not incoming.data:
            errors.append(FieldError(where, "empty", f"{name}: the file is empty"))
            continue
        if len(incoming.data) > limit:
            errors.append(FieldError(where, "too_large", f"{name}: at most {limit // (1024 * 1024)} MB per file"))
            continue
        cleaned.append(IncomingFile(name, types[0], incoming.data))
    if sum(len(f.data) for f in cleaned) > total_limit:
        errors.append(FieldError(field, "too_large", f"at most {total_limit // (1024 * 1024)} MB of files in all"))
    if errors:
        raise InvalidInput(errors)
    return cleaned


def uploaded_files(request: HttpRequest, name: str = "files") -> list[IncomingFile]:
    """The files a form posted under ``name``, for :func:`check_files`."""
    return [IncomingFile(f.name or "", f.content_type or "", f.read()) for f in request.FILES.getlist(name)]
