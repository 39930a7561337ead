import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from rapport.demo.loader import SeedReport, seed_demo_shop
from rapport.testing.tour import rolled_back_after_module

END = dt.date(2026, 7, 1)  # a fixed window keeps every figure in these tests reproducible
SMALL = 300
# The demo staff's passwords are hashed with PBKDF2 in real use; tests need no key stretching.
QUICK_HASHING = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    settings.PASSWORD_HASHERS = QUICK_HASHING


@pytest.fixture(scope="module")
def _small_shop_of_the_module(django_db_setup: Any, django_db_blocker: Any) -> Iterator[SeedReport]:
    def load() -> SeedReport:
        with override_settings(PASSWORD_HASHERS=QUICK_HASHING):
            return seed_demo_shop(seed=7, customers=SMALL, end=END)

    yield from rolled_back_after_module(django_db_blocker, load)


@pytest.fixture
def small_shop(_small_shop_of_the_module: SeedReport, db: None) -> SeedReport:
    """The small demo shop, written once for the module's tests (a load takes half a minute): each
    test reads it and what a test writes is rolled back. A module whose tests need an empty
    database, or a transaction of their own, keeps them out of the modules that use this."""
    return _small_shop_of_the_module
