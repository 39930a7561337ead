"""Customer search as staff use it: the last four digits of a phone, ``#id``, pinyin spellings.

The same search serves the API (``GET /api/v1/customers?q=``) and the console's customer list,
so each behaviour is checked at the service and at both entry points.
"""

from __future__ import annotations

import importlib
import io
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client

from rapport.core import pii
from rapport.customers import services
from rapport.customers.models import Customer, name_pinyin

pytestmark = pytest.mark.django_db

PINYIN_SPELLINGS = ["wang fang", "wangfang", "Wang Fang", "WÁNG Fāng", "fang", "wf", "Wang"]


def _found(text: str) -> list[Customer]:
    return list(services.search(Customer.objects.order_by("pk"), text))


@pytest.fixture
def tail_and_id(make_customer: Any) -> tuple[Customer, Customer]:
    """``other``'s id written with four digits is the tail of ``target``'s phone: the search for
    those digits must find ``target`` (the phone) and not ``other`` (the id)."""
    other = make_customer(name="Id Holder")
    target = make_customer(name="Tail Owner", phone=f"1391234{other.pk:04d}")
    make_customer(name="Someone Else", phone="13800001111")
    return target, other


def test_the_last_four_digits_of_a_phone_find_its_owners_not_a_customer_id(tail_and_id: Any) -> None:
    target, other = tail_and_id
    assert _found(f"{other.pk:04d}") == [target]


def test_a_phone_tail_finds_every_customer_whose_phone_ends_so(make_customer: Any) -> None:
    first = make_customer(name="A", phone="13912341057")
    second = make_customer(name="B", phone="13655551057")
    make_customer(name="C", phone="13655551058")
    assert _found("1057") == [first, second]
    assert _found("105") == [] and _found("51057") == []


def test_the_phone_tail_is_a_blind_index_not_the_digits(tail_and_id: Any) -> None:
    target, _other = tail_and_id
    stored = Customer.objects.values_list("phone_tail_index", flat=True).get(pk=target.pk)
    assert stored == pii.phone_tail_index(target.phone) and target.phone[-4:] not in stored


def test_hash_and_digits_is_a_customer_id_and_nothing_else(tail_and_id: Any) -> None:
    target, other = tail_and_id
    assert _found(f"#{other.pk}") == [other]
    assert _found(f"# {target.pk}") == [target]
    assert _found("#99999999") == []


@pytest.mark.parametrize("text", PINYIN_SPELLINGS)
def test_latin_and_pinyin_spellings_find_a_chinese_name(make_customer: Any, text: str) -> None:
    wang = make_customer(name="王芳")
    make_customer(name="李娜")
    make_customer(name="Amy Wu")
    assert _found(text) == [wang]


def test_latin_names_match_without_spaces_and_chinese_text_still_matches(make_customer: Any) -> None:
    amy = make_customer(name="Amy Wang")
    wang = make_customer(name="王芳")
    assert _found("amywang") == [amy]
    assert _found("王") == [wang]
    assert _found("wang") == [amy, wang]


def test_keys_follow_a_changed_name_and_phone(make_customer: Any, system_actor: Any) -> None:
    customer = make_customer(name="王芳", phone="13912341057")
    services.update_customer(customer, data={"name": "李娜", "phone": "13912342046"}, actor=system_actor)
    assert _found("li na") == [customer] and _found("2046") == [customer]
    assert _found("wang fang") == [] and _found("1057") == []
    services.update_customer(customer, data={"phone": ""}, actor=system_actor)
    assert _found("2046") == []


def test_a_save_of_the_name_alone_updates_its_keys(make_customer: Any) -> None:
    customer = make_customer(name="王芳")
    customer.name = "张伟"
    customer.save(update_fields=["name"])
    assert Customer.objects.values_list("name_key", "name_pinyin").get(pk=customer.pk) == ("张伟", "zhangwei|zw")


def test_key_rotation_rebuilds_the_phone_tail_index(settings: Any, make_customer: Any) -> None:
    customer = make_customer(phone="13912341057")
    settings.RAPPORT_BLIND_INDEX_KEY = "a brand new index key"
    assert _found("1057") == []
    call_command("rotate_keys", stdout=io.StringIO())
    assert _found("1057") == [customer]


def test_the_data_migration_fills_the_keys_of_existing_customers(make_customer: Any) -> None:
    customer = make_customer(name="王芳", phone="13912341057")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_customer SET name_pinyin = '', phone_tail_index = NULL")
    assert _found("1057") == [] and _found("wangfang") == []
    migration = importlib.import_module("rapport.customers.migrations.0008_fill_customer_search_keys")
    migration.fill_search_keys(apps, connection.schema_editor())
    assert _found("1057") == [customer] and _found("wangfang") == [customer]


def test_name_pinyin_keeps_latin_words_and_initials() -> None:
    assert name_pinyin("王芳") == "wangfang|wf"
    assert name_pinyin("ＷＡＮＧ Fang") == "wangfang|wf"
    assert name_pinyin("吕布") == "lvbu|lb"
    assert name_pinyin("") == ""


def test_api_search_by_phone_tail_pinyin_and_id(admin_api: Client, tail_and_id: Any, make_customer: Any) -> None:
    target, other = tail_and_id
    wang = make_customer(name="王芳")

    def ids(q: str) -> list[int]:
        response = admin_api.get("/api/v1/customers", {"q": q})
        assert response.status_code == 200
        return [c["id"] for c in response.json()["results"]]

    assert ids(f"{other.pk:04d}") == [target.pk]
    assert ids(f"#{other.pk}") == [other.pk]
    assert ids("wang fang") == [wang.pk] and ids("wf") == [wang.pk]


def test_console_list_searches_by_phone_tail_and_pinyin(
    client: Client, admin_user: Any, tail_and_id: Any, make_customer: Any
) -> None:
    _target, other = tail_and_id
    make_customer(name="王芳")
    client.force_login(admin_user)

    def table(q: str) -> str:
        page = client.get("/customers/", {"q": q}).content.decode()
        return page[page.index("<tbody>") :]

    by_tail = table(f"{other.pk:04d}")
    assert "Tail Owner" in by_tail and "Id Holder" not in by_tail
    assert "Id Holder" in table(f"#{other.pk}")
    by_pinyin = table("wang fang")
    assert "王芳" in by_pinyin and "Tail Owner" not in by_pinyin
