"""Import files and reports at rest: encrypted, read and written as streams, in constant memory.

An uploaded file and a job's rejected-rows report hold customers' personal data, so neither is
ever stored in plaintext. Both are a short header followed by one Fernet token per block of up
to 1 MiB (Fernet under the personal-data key ring of :mod:`rapport.core.pii`), one token a line:
a file of any size is read block by block, and a resumed job appends blocks to its report.
Files without the header (a path given to ``rapport import``, which stays the user's) are read
as they are.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from rapport.core import pii

MAGIC = b"RAPPORT-ENCRYPTED 1\n"
BLOCK = 1 << 20


def is_encrypted(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def save_encrypted(chunks: Iterable[bytes], target: Path) -> None:
    """Write ``chunks`` (an upload's) to ``target`` encrypted."""
    with open_encrypted_writer(target) as handle:
        for chunk in chunks:
            handle.write(chunk)


class _DecryptingReader(io.RawIOBase):
    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        if self._file.read(len(MAGIC)) != MAGIC:
            self._file.close()
            raise ValueError(f"{path.name} is not an encrypted import file")
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            token = self._file.readline().strip()
            if not token:
                return 0
            self._pending = pii.key_ring().decrypt(token)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        self._file.close()
        super().close()


class _EncryptingWriter(io.RawIOBase):
    def __init__(self, path: Path, *, append: bool) -> None:
        fresh = not (append and path.is_file())
        self._file = path.open("wb" if fresh else "ab")
        if fresh:
            self._file.write(MAGIC)
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        while len(self._buffer) >= BLOCK:
            self._emit(bytes(self._buffer[:BLOCK]))
            del self._buffer[:BLOCK]
        return len(data)

    def _emit(self, block: bytes) -> None:
        self._file.write(pii.key_ring().encrypt(block) + b"\n")

    def close(self) -> None:
        if not self.closed:
            if self._buffer:
                self._emit(bytes(self._buffer))
                self._buffer.clear()
            self._file.close()
        super().close()


def open_binary(path: Path) -> IO[bytes]:
    """The file's plain bytes as a stream, decrypting when it is one of ours."""
    if is_encrypted(path):
        return io.BufferedReader(_DecryptingReader(path), buffer_size=BLOCK)
    return path.open("rb")


def open_text(path: Path, encoding: str) -> IO[str]:
    return io.TextIOWrapper(open_binary(path), encoding=encoding, newline="")


def open_encrypted_writer(path: Path, *, append: bool = False) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return io.BufferedWriter(_EncryptingWriter(path, append=append), buffer_size=BLOCK)


def open_encrypted_text_writer(path: Path, *, append: bool = False) -> IO[str]:
    return io.TextIOWrapper(open_encrypted_writer(path, append=append), encoding="utf-8", newline="")


def plain_chunks(path: Path) -> Iterator[bytes]:
    """The plain bytes of a stored file, block by block (for a download)."""
    with open_binary(path) as handle:
        while block := handle.read(BLOCK):
            yield block


def remove(path: str | Path) -> None:
    if path:
        Path(path).unlink(missing_ok=True)
