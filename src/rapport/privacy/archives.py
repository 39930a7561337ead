"""Access copies on disk, encrypted chunk by chunk: written as a stream, read as a stream.

The zip of an access copy is never whole in memory: the job writes it through
:class:`SealedWriter`, which cuts what it is given into chunks of ``CHUNK`` bytes and writes each
one encrypted with the personal-data key ring (a Fernet token, authenticated) behind its length.
Each chunk's plaintext starts with its number and whether it is the last one, so chunks that were
reordered, dropped or cut off at the end are refused when the copy is read, not served as a
shorter zip. A copy is written to ``<name>.part`` and renamed when complete: a dead worker leaves a
part file, never a copy that looks finished; the next run of the job starts it afresh.

Files live in ``RAPPORT_PRIVACY_ARCHIVE_DIR`` (default: ``archives`` in the data folder); the
request records only the file's name.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from rapport.core import pii

CHUNK = 1 << 20  # plaintext bytes per encrypted chunk
_LENGTH = struct.Struct(">I")
_HEADER = struct.Struct(">Q?")  # chunk number, last chunk


def folder() -> Path:
    path = Path(settings.RAPPORT_PRIVACY_ARCHIVE_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(request: Any) -> Path:
    """The file of a request's copy (it may not exist: not built yet, or dropped)."""
    return folder() / str(request.archive_file or f"request-{request.pk}.zip.sealed")


class SealedWriter(io.RawIOBase):
    """A write-only stream that encrypts what it is given, chunk by chunk, into ``sink``."""

    def __init__(self, sink: IO[bytes]) -> None:
        super().__init__()
        self._sink = sink
        self._buffer = bytearray()
        self._number = 0
        self.written = 0  # plaintext bytes

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = bytes(data)
        self._buffer += view
        self.written += len(view)
        while len(self._buffer) > CHUNK:  # the last chunk is written by close(), marked as the last
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(view)

    def _seal(self, plain: bytes, *, last: bool) -> None:
        token = pii.encrypt_bytes(_HEADER.pack(self._number, last) + plain)
        self._sink.write(_LENGTH.pack(len(token)) + token)
        self._number += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


@contextmanager
def writing(path: Path) -> Iterator[SealedWriter]:
    """A :class:`SealedWriter` onto ``path``, which appears only once everything was written."""
    part = path.with_name(path.name + ".part")
    try:
        with part.open("wb") as sink:
            writer = SealedWriter(sink)
            yield writer
            writer.close()
            sink.flush()
            os.fsync(sink.fileno())
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def read(path: Path) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk (constant memory); RuntimeError when the
    keys cannot open a chunk, or chunks are missing, out of order or cut off."""
    expected = 0
    with path.open("rb") as source:
        while True:
            head = source.read(_LENGTH.size)
            if not head:
                raise RuntimeError("the archive file ends before its last chunk")
            (length,) = _LENGTH.unpack(head)
            plain = pii.decrypt_bytes(source.read(length))
            number, last = _HEADER.unpack_from(plain)
            if number != expected:
                raise RuntimeError("the archive file's chunks are out of order")
            yield plain[_HEADER.size :]
            if last:
                return
            expected += 1


def remove(*names: str) -> None:
    for name in names:
        if name:
            (folder() / name).unlink(missing_ok=True)
