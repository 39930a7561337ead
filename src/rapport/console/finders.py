"""Serve JavaScript that ships inside installed Python packages as our own static files.

The console never loads assets from a CDN. Plotly's Python package carries its bundled
``plotly.min.js``; this finder publishes it as ``vendor/plotly.min.js`` so ``{% static %}``,
``collectstatic`` and WhiteNoise treat it like any file of ours.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

# static path -> (package, file inside the package)
PACKAGE_ASSETS = {"vendor/plotly.min.js": ("plotly", "package_data/plotly.min.js")}


def _asset_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise LookupError(f"package {package!r} is not installed")
    return Path(spec.origin).parent / relative


class PackageAssetFinder(BaseFinder):
    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        if path not in PACKAGE_ASSETS:
            return [] if find_all else None
        found = str(_asset_file(*PACKAGE_ASSETS[path]))
        return [found] if find_all else found

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for path, (package, relative) in PACKAGE_ASSETS.items():
            source = _asset_file(package, relative)
            storage = FileSystemStorage(location=str(source.parent))
            storage.prefix = str(Path(path).parent)  # type: ignore[attr-defined]  # collectstatic reads it
            yield source.name, storage
