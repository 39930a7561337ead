"""Keys that must survive restarts: the Django secret key and the personal-data keys.

The embedded default generates them once and keeps them in the data folder (mode 0600);
production passes them in the environment, which always wins.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path


def _new_fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def load_or_create(data_dir: Path) -> dict[str, object]:
    """Read ``secrets.json`` from the data folder, creating it on first use."""
    path = data_dir / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {
        "secret_key": secrets.token_urlsafe(50),
        "encryption_keys": [_new_fernet_key()],
        "blind_index_key": secrets.token_urlsafe(32),
    }
    tmp = data_dir / f"secrets.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle, indent=2)
    try:
        # link() refuses to overwrite: when two processes start at once, the first one wins
        # and the other reads its keys instead of silently replacing them.
        os.link(tmp, path)
    except FileExistsError:
        values = json.loads(path.read_text())
    finally:
        tmp.unlink()
    return values
