"""Access copies on disk: written and read chunk by chunk, encrypted, and refused when tampered
with; the events of a copy are read as it is written, not gathered first."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from rapport.core import pii
from rapport.core.actor import Actor
from rapport.privacy import archives, handlers, services


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archives, "CHUNK", 1000)


def _chunks(path: Path) -> list[bytes]:
    data, records = path.read_bytes(), []
    while data:
        (length,) = struct.unpack(">I", data[:4])
        records.append(data[: 4 + length])
        data = data[4 + length :]
    return records


def test_a_file_is_written_and_read_back_chunk_by_chunk(small_chunks: None, tmp_path: Path) -> None:
    text = b"13106350292 wang.fang@example.com " * 200  # 6,800 bytes: seven chunks
    path = tmp_path / "copy.sealed"
    with archives.writing(path) as sealed:
        for start in range(0, len(text), 333):
            sealed.write(text[start : start + 333])
    assert not path.with_name("copy.sealed.part").exists()
    assert b"13106350292" not in path.read_bytes() and len(_chunks(path)) == 7
    assert b"".join(archives.read(path)) == text
    assert all(len(chunk) <= 1000 for chunk in archives.read(path))


def test_a_cut_reordered_or_failed_file_is_refused(small_chunks: None, tmp_path: Path) -> None:
    path = tmp_path / "copy.sealed"
    with archives.writing(path) as sealed:
        sealed.write(b"x" * 2500)
    first, second, last = _chunks(path)
    path.write_bytes(first + second)  # the last chunk cut off
    with pytest.raises(RuntimeError, match="ends before"):
        b"".join(archives.read(path))
    path.write_bytes(second + first + last)
    with pytest.raises(RuntimeError, match="out of order"):
        b"".join(archives.read(path))

    failed = tmp_path / "failed.sealed"
    with pytest.raises(OSError), archives.writing(failed) as sealed:
        sealed.write(b"y" * 1500)
        raise OSError("no space left on device")
    assert not failed.exists() and not failed.with_name("failed.sealed.part").exists()


@pytest.mark.django_db
def test_events_are_streamed_into_the_archive(small_chunks: None, make_customer: Any, tmp_path: Path) -> None:
    from django.utils import timezone

    from rapport.events.models import Event
    from rapport.events.services import create_source

    source = create_source(data={"name": "Shop", "identity_channel": "web"}, actor=Actor.system("test"))
    customer = make_customer(name="Many Events")
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            source=source,
            message_id=f"m{n}",
            type="track",
            name="Viewed",
            customer=customer,
            properties={"n": n, "shipping": {"phone": pii.seal("13106350292", None)}},
            timestamp=now,
            received_at=now,
        )
        for n in range(120)
    )
    exported = handlers.export_events(customer)["events"]
    assert not isinstance(exported, list)  # an iterator: read as the archive is written

    path = tmp_path / "copy.sealed"
    with archives.writing(path) as sealed:
        services.write_archive(customer, sealed)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(archives.read(path))))
    events = json.loads(archive.read("events.json"))["events"]
    assert [e["properties"]["n"] for e in events] == list(range(120))
    assert events[0]["properties"]["shipping"] == {"phone": "13106350292"}  # the person's own values
    assert archive.read("events/events.csv").decode().count("\n") == 121
    assert json.loads(archive.read("manifest.json"))["domains"]["events"]["events"] == 120
