"""HTTPS deployments get secure cookies from one setting; every page forbids inline script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2]


def _settings_with(env: dict[str, str], tmp_path: Path) -> dict[str, object]:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k, None) for k in ('SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE',"
        " 'SECURE_PROXY_SSL_HEADER', 'SECURE_HSTS_SECONDS')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **env, "RAPPORT_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "rapport.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_https_setting_makes_cookies_secure_and_trusts_the_proxy(tmp_path):
    plain = _settings_with({"RAPPORT_HTTPS": "", "RAPPORT_HSTS_SECONDS": "600"}, tmp_path)
    assert plain == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": None,
        "SECURE_HSTS_SECONDS": 0,
    }
    https = _settings_with({"RAPPORT_HTTPS": "true", "RAPPORT_HSTS_SECONDS": "31536000"}, tmp_path)
    assert https == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_HSTS_SECONDS": 31536000,
    }


def test_every_page_carries_a_policy_without_inline_script(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "Content-Security-Policy" in client.get("/api/docs")


def test_no_template_has_inline_script_or_event_handler_attributes():
    offenders = []
    for template in TEMPLATES.glob("*/templates/**/*.html"):
        text = template.read_text()
        inline = [m for m in re.findall(r"<script\b[^>]*>", text) if "src=" not in m and "application/json" not in m]
        handlers = re.findall(r"\son[a-z]+=", text)
        if inline or handlers:
            offenders.append(str(template.relative_to(TEMPLATES)))
    assert offenders == []
