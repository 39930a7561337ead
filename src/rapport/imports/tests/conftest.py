import csv
from pathlib import Path

import pytest

from rapport.commerce import services as commerce_services
from rapport.customers import services as customer_services

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"


@pytest.fixture
def testdata():
    return TESTDATA


@pytest.fixture
def vip_field(db, system_actor):
    return customer_services.save_custom_field(
        data={"key": "vip_level", "label": "VIP level", "field_type": "choice", "choices": ["gold", "silver"]},
        actor=system_actor,
    )


@pytest.fixture
def catalogue(db, system_actor):
    product, _ = commerce_services.upsert_product(
        data={"sku": "TEA-1", "name": "Longjing 250g", "price": "128.00"}, actor=system_actor
    )
    return product


def read_report(path):
    """A report's rows, whether it is a plain CSV (``--report``) or a job's encrypted one."""
    from rapport.imports.files import open_text

    with open_text(Path(path), "utf-8-sig") as handle:
        return list(csv.DictReader(handle))
