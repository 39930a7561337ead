"""Fixtures shared by every app's tests: actors, stores, staff per role, customers, API clients."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.accounts.scopes import ALL_SCOPES
from rapport.accounts.services import create_api_token, create_staff_user
from rapport.core.actor import Actor
from rapport.customers import services as customer_services
from rapport.customers.models import Customer, Store

_counter = itertools.count(1)
STAFF_PASSWORD = "rapport-test-pw"  # test users only


def pytest_configure(config: pytest.Config) -> None:
    """On SQLite the test database is a file (in memory-backed /dev/shm where there is one), as the
    embedded default's is, not Django's in-memory database: that one shares its cache between
    connections and answers a lock at once with "database table is locked" instead of waiting, so
    a job running in the server's own thread pool beside a browser test lost its writes at random.
    ``RAPPORT_TEST_SQLITE_NAME`` names another file."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    test = database.setdefault("TEST", {})
    if database["ENGINE"] != "django.db.backends.sqlite3" or test.get("NAME"):
        return
    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp below makes a private folder of its own
    folder = Path(tempfile.mkdtemp(prefix="rapport-tests-", dir=shm if shm.is_dir() else None))
    test["NAME"] = str(folder / "test.sqlite3")  # pytest-django adds each xdist worker's suffix
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


@pytest.fixture(autouse=True)
def _jobs_run_inline(settings: Any) -> None:
    settings.RAPPORT_JOBS_SYNC = True


@pytest.fixture(autouse=True)
def _no_customer_keys_cached_by_other_tests() -> None:
    from rapport.core import shredding

    shredding.forget_cached_keys()


@pytest.fixture(autouse=True)
def _responses_keep_their_contract(settings: Any) -> None:
    settings.RAPPORT_STRICT_RESPONSES = True


@pytest.fixture(autouse=True)
def _recommendation_caches_read_afresh() -> None:
    """No per-process copy of the rules or best sellers outlives a test (SQLite reuses the ids of
    rows a rolled-back test wrote)."""
    from rapport.recommendations.services import forget_cached

    forget_cached()


@pytest.fixture(scope="session")
def _outbox_folder(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(autouse=True)
def _outbox_outside_the_work_tree(settings: Any, _outbox_folder: Any) -> None:
    """Messages kept for want of a transport go to a temporary folder, not ./var of the checkout."""
    settings.RAPPORT_OUTBOX_DIR = _outbox_folder


@pytest.fixture(autouse=True)
def _archives_outside_the_work_tree(settings: Any, tmp_path: Any) -> None:
    """Access copies (files, rapport.privacy.archives) go to the test's own temporary folder."""
    settings.RAPPORT_PRIVACY_ARCHIVE_DIR = tmp_path / "archives"


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("test")


@pytest.fixture
def store(db: Any, system_actor: Actor) -> Store:
    return customer_services.create_store(data={"code": "sh-01", "name": "Shanghai Flagship"}, actor=system_actor)


@pytest.fixture
def other_store(db: Any, system_actor: Actor) -> Store:
    return customer_services.create_store(data={"code": "bj-01", "name": "Beijing Store"}, actor=system_actor)


@pytest.fixture
def make_staff(db: Any, system_actor: Actor) -> Callable[..., Any]:
    def make(role: str = roles.OPERATOR, *, store: Store | None = None, username: str | None = None) -> Any:
        return create_staff_user(
            username=username or f"{role}{next(_counter)}",
            password=STAFF_PASSWORD,
            role=role,
            actor=system_actor,
            store_id=store.pk if store else None,
        )

    return make


@pytest.fixture
def admin_user(make_staff: Callable[..., Any]) -> Any:
    return make_staff(roles.ADMIN, username="admin")


@pytest.fixture
def make_customer(db: Any, system_actor: Actor) -> Callable[..., Customer]:
    def make(**data: Any) -> Customer:
        n = next(_counter)
        data.setdefault("name", f"Customer {n}")
        return customer_services.create_customer(data=data, actor=system_actor)

    return make


@pytest.fixture
def api_client_for(db: Any, system_actor: Actor) -> Callable[..., Client]:
    """A test client that sends a bearer token for ``user`` with ``scopes`` (default: all)."""

    def make(user: Any, scopes: list[str] | None = None) -> Client:
        _token, plaintext = create_api_token(
            user=user, name="test", scopes=scopes or list(ALL_SCOPES), actor=system_actor
        )
        return Client(headers={"Authorization": f"Bearer {plaintext}"})

    return make


@pytest.fixture
def admin_api(admin_user: Any, api_client_for: Callable[..., Client]) -> Client:
    return api_client_for(admin_user)
