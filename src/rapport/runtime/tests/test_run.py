"""``rapport run`` tells every link in mail the address it serves, unless RAPPORT_PUBLIC_URL says otherwise."""

from __future__ import annotations

import pytest
import waitress  # type: ignore[import-untyped]
from django.core.management import call_command
from django.test import override_settings

from rapport.campaigns.delivery import tracking
from rapport.core.public_url import DEFAULT, public_url, served_url

pytestmark = pytest.mark.django_db


class _Server:
    """Stands in for waitress: "serving" makes the links a send would make at that moment."""

    def __init__(self, made: list[str]) -> None:
        self.made = made

    def run(self) -> None:
        self.made.append(tracking.unsubscribe_url(1, "email"))

    def close(self) -> None:
        pass


def _serve(monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    made: list[str] = []
    monkeypatch.setattr(waitress, "create_server", lambda *a, **kw: _Server(made))
    call_command("run", "--no-seed", *args)
    return made


@override_settings(RAPPORT_PUBLIC_URL="")
def test_links_point_at_the_port_served_when_no_public_url_is_set(monkeypatch, capsys):
    [link] = _serve(monkeypatch, "--port", "8101")
    assert link.startswith("http://127.0.0.1:8101/")
    assert "Links in mail point at http://127.0.0.1:8101/" in capsys.readouterr().out
    assert public_url() == DEFAULT  # once stopped, the served address is forgotten


@override_settings(RAPPORT_PUBLIC_URL="https://crm.example.com")
def test_the_setting_wins_over_the_address_served(monkeypatch):
    [link] = _serve(monkeypatch, "--port", "8101")
    assert link.startswith("https://crm.example.com/")


def test_the_served_url_of_wildcard_and_ipv6_addresses(monkeypatch):
    monkeypatch.setattr("socket.getfqdn", lambda: "shop-server.lan")
    assert served_url("0.0.0.0", 8000) == "http://shop-server.lan:8000"
    assert served_url("::1", 8200) == "http://[::1]:8200"
    assert served_url("10.0.0.5", 80) == "http://10.0.0.5:80"
