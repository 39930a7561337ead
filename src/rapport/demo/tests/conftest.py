import datetime as dt

import pytest

from rapport.demo.loader import SeedReport, seed_demo_shop

END = dt.date(2026, 7, 1)  # a fixed window keeps every figure in these tests reproducible
SMALL = 300


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    # The demo staff's passwords are hashed with PBKDF2 in real use; tests need no key stretching.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def small_shop(db) -> SeedReport:
    return seed_demo_shop(seed=7, customers=SMALL, end=END)
