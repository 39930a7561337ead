from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client


def test_plotly_bundle_is_found_as_our_static_file() -> None:
    found = finders.find("vendor/plotly.min.js")
    assert found and Path(found).read_bytes()[:200].lstrip().startswith(b"/**")


def test_collectstatic_copies_the_bundle(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / "vendor" / "plotly.min.js").stat().st_size > 1_000_000


def test_bundle_is_served(client: Client) -> None:
    response = client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
