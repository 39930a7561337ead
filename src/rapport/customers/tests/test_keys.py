import io

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from rapport.core import pii
from rapport.customers import services
from rapport.customers.models import Customer


def _raw_phone(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM customers_customer WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_rotation_reencrypts_under_the_new_key_so_the_old_one_can_go(settings, make_customer, system_actor):
    customer = make_customer(phone="13812345678", email="a@example.com")
    services.add_address(customer, data={"line1": "1 Nanjing Rd"}, actor=system_actor)
    new_key = Fernet.generate_key().decode()
    settings.RAPPORT_ENCRYPTION_KEYS = [new_key, *settings.RAPPORT_ENCRYPTION_KEYS]
    call_command("rotate_keys", stdout=io.StringIO())
    settings.RAPPORT_ENCRYPTION_KEYS = [new_key]
    assert Fernet(new_key.encode()).decrypt(_raw_phone(customer.pk).encode()) == b"+8613812345678"
    reloaded = Customer.objects.get(pk=customer.pk)
    assert reloaded.phone == "+8613812345678"
    assert reloaded.addresses.get().line1 == "1 Nanjing Rd"


def test_rotation_rebuilds_blind_indexes_under_a_new_index_key(settings, make_customer, system_actor):
    customer = make_customer(phone="13812345678")
    services.add_address(customer, data={"line1": "1 Nanjing Rd", "city": "上海"}, actor=system_actor)
    settings.RAPPORT_BLIND_INDEX_KEY = "a brand new index key"
    call_command("rotate_keys", stdout=io.StringIO())
    assert Customer.objects.get(pk=customer.pk).phone_index == pii.phone_index("+8613812345678")
    assert customer.addresses.get().place_index == pii.place_index("上海", "", "1 Nanjing Rd")
    assert list(services.search(Customer.objects.all(), "13812345678")) == [customer]
