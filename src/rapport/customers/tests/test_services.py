import pytest
from django.db import connection

from rapport.audit.models import AuditEntry
from rapport.core import pii
from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers import services
from rapport.customers.models import ChangeRecord, Customer, CustomFieldDefinition, Identity, identity_index_of


@pytest.fixture
def tier_field(system_actor):
    return services.save_custom_field(
        data={
            "key": "skin_type",
            "label": "Skin type",
            "field_type": "choice",
            "choices": ["dry", "oily", "normal"],
        },
        actor=system_actor,
    )


def test_create_customer_normalises_and_encrypts_personal_data(db, system_actor, store):
    customer = services.create_customer(
        data={"name": " 张伟 ", "phone": "138 1234 5678", "email": "Zhang@Example.COM", "store": "sh-01"},
        actor=system_actor,
    )
    customer.refresh_from_db()
    assert customer.name == "张伟"
    assert customer.phone == "+8613812345678"
    assert customer.email == "Zhang@example.com"
    assert customer.phone_index == pii.phone_index("+8613812345678")
    assert customer.store == store
    assert AuditEntry.objects.filter(object_type="customers.customer", object_id=str(customer.pk)).exists()


def test_raw_table_holds_no_plaintext_phone_or_email(db, system_actor):
    services.create_customer(
        data={
            "name": "Li Na",
            "phone": "13912345678",
            "email": "li.na@example.com",
            "id_number": "110101199003071234",
        },
        actor=system_actor,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM customers_customer")
        raw = " ".join(str(value) for row in cursor.fetchall() for value in row)
    for plaintext in ["13912345678", "li.na@example.com", "example.com", "110101199003071234"]:
        assert plaintext not in raw


def test_invalid_input_names_every_bad_field_and_writes_nothing(db, system_actor):
    with pytest.raises(InvalidInput) as excinfo:
        services.create_customer(
            data={"name": "", "phone": "12", "email": "nope", "birthday": "2999-01-01", "gender": "x"},
            actor=system_actor,
        )
    fields = {error.field for error in excinfo.value.errors}
    assert fields == {"name", "phone", "email", "birthday", "gender"}
    assert Customer.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_unknown_fields_are_refused_not_ignored(db, system_actor):
    with pytest.raises(InvalidInput) as excinfo:
        services.create_customer(data={"name": "A", "favourite_colour": "blue"}, actor=system_actor)
    assert excinfo.value.errors[0].field == "favourite_colour"


def test_second_customer_with_the_same_phone_is_a_conflict(db, system_actor, make_customer):
    first = make_customer(phone="13812345678")
    with pytest.raises(Conflict) as excinfo:
        services.create_customer(data={"name": "Dup", "phone": "+86 138 1234 5678"}, actor=system_actor)
    assert f"#{first.pk}" in excinfo.value.errors[0].message
    assert Customer.objects.count() == 1


def test_update_records_each_changed_field_with_who_what_and_source(db, make_customer, make_staff):
    customer = make_customer(name="Wang Fang", city="Hangzhou", phone="13812345678")
    operator = make_staff("operator")
    actor = Actor(user=operator, source=Source.CONSOLE)
    services.update_customer(
        customer, data={"city": "Shanghai", "phone": "13987654321", "name": "Wang Fang"}, actor=actor
    )
    records = {r.field: r for r in ChangeRecord.objects.filter(customer=customer)}
    assert set(records) == {"city", "phone"}
    assert (records["city"].old_value, records["city"].new_value) == ("Hangzhou", "Shanghai")
    assert records["city"].actor == operator and records["city"].source == Source.CONSOLE
    # personal data is recorded masked: the history is no plaintext copy
    assert (records["phone"].old_value, records["phone"].new_value) == ("138****5678", "139****4321")


def test_update_with_no_actual_change_records_nothing(db, make_customer, system_actor):
    customer = make_customer(name="Same", city="Beijing")
    services.update_customer(customer, data={"city": "Beijing"}, actor=system_actor)
    assert not ChangeRecord.objects.filter(customer=customer).exists()


def test_custom_fields_are_validated_against_their_definition(db, make_customer, system_actor, tier_field):
    customer = make_customer()
    services.update_customer(customer, data={"custom_fields": {"skin_type": "dry"}}, actor=system_actor)
    assert Customer.objects.get(pk=customer.pk).custom_fields == {"skin_type": "dry"}
    with pytest.raises(InvalidInput) as excinfo:
        services.update_customer(customer, data={"custom_fields": {"skin_type": "purple"}}, actor=system_actor)
    assert excinfo.value.errors[0].field == "custom_fields.skin_type"
    with pytest.raises(InvalidInput):
        services.update_customer(customer, data={"custom_fields": {"no_such": 1}}, actor=system_actor)
    change = ChangeRecord.objects.get(customer=customer)
    assert (change.field, change.new_value) == ("custom_fields.skin_type", "dry")


@pytest.mark.parametrize(
    ("field_type", "good", "stored", "bad"),
    [
        ("integer", "42", 42, "4.5"),
        ("decimal", "3.14", "3.14", "pi"),
        ("date", "2024-02-29", "2024-02-29", "2023-02-29"),
        ("boolean", "yes", True, "maybe"),
        ("text", "hello", "hello", "x" * 201),
    ],
)
def test_each_custom_field_type_accepts_its_values_and_refuses_others(
    db, system_actor, make_customer, field_type, good, stored, bad
):
    services.save_custom_field(data={"key": "f", "label": "F", "field_type": field_type}, actor=system_actor)
    customer = make_customer()
    services.update_customer(customer, data={"custom_fields": {"f": good}}, actor=system_actor)
    assert Customer.objects.get(pk=customer.pk).custom_fields["f"] == stored
    with pytest.raises(InvalidInput):
        services.update_customer(customer, data={"custom_fields": {"f": bad}}, actor=system_actor)


def test_type_of_a_custom_field_cannot_change(db, system_actor, tier_field):
    with pytest.raises(InvalidInput):
        services.save_custom_field(data={"field_type": "text"}, actor=system_actor, instance=tier_field)
    assert CustomFieldDefinition.objects.get(pk=tier_field.pk).field_type == "choice"


def test_upsert_by_identity_is_idempotent(db, system_actor):
    first, created = services.upsert_customer(
        channel="web", external_id="u-1", data={"name": "Chen Jie", "city": "Suzhou"}, actor=system_actor
    )
    again, created_again = services.upsert_customer(
        channel="web", external_id="u-1", data={"name": "Chen Jie", "city": "Suzhou"}, actor=system_actor
    )
    assert created and not created_again and first.pk == again.pk
    assert Customer.objects.count() == 1 and Identity.objects.count() == 1


def test_upsert_with_a_known_phone_attaches_the_new_identity_to_that_person(db, system_actor, make_customer):
    existing = make_customer(name="Zhou Min", phone="13700001111")
    customer, created = services.upsert_customer(
        channel="store",
        external_id="card-9",
        data={"name": "Zhou Min", "phone": "137 0000 1111"},
        actor=system_actor,
    )
    assert not created and customer.pk == existing.pk
    assert Identity.objects.get(external_index=identity_index_of("store", "card-9")).customer_id == existing.pk


def test_an_identity_belongs_to_one_customer_only(db, system_actor, make_customer):
    a, b = make_customer(), make_customer()
    services.add_identity(a, channel="app", external_id="x", actor=system_actor)
    with pytest.raises(Conflict):
        services.add_identity(b, channel="app", external_id="x", actor=system_actor)


def test_search_finds_by_phone_email_external_id_and_name(db, system_actor, make_customer):
    target = make_customer(name="Sun Li", phone="13612345678", email="sun@example.com")
    services.add_identity(target, channel="web", external_id="shop-77", actor=system_actor)
    make_customer(name="Other")
    base = Customer.objects.all()
    for text in ["136 1234 5678", "SUN@example.com", "shop-77", "sun l"]:
        assert list(services.search(base, text)) == [target], text


def test_reveal_returns_plaintext_and_is_audited(db, make_customer, make_staff):
    customer = make_customer(phone="13812345678", email="a@example.com")
    agent = make_staff("service_agent")
    revealed = services.reveal_personal_data(customer, actor=Actor(user=agent, source=Source.CONSOLE))
    assert revealed["phone"] == "+8613812345678"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.REVEAL)
    assert entry.actor == agent and entry.object_id == str(customer.pk)


def test_notes_need_text(db, make_customer, system_actor):
    customer = make_customer()
    with pytest.raises(InvalidInput):
        services.add_note(customer, body="   ", actor=system_actor)
    note = services.add_note(customer, body="Prefers calls after 6pm", actor=system_actor)
    assert customer.notes.get() == note


def test_assign_owner_records_a_change_per_customer(db, make_customer, make_staff, system_actor):
    sales = make_staff("sales")
    customers = [make_customer(), make_customer()]
    changed = services.assign_owner(
        Customer.objects.filter(pk__in=[c.pk for c in customers]), owner=sales, actor=system_actor
    )
    assert changed == 2
    assert Customer.objects.filter(owner=sales).count() == 2
    assert ChangeRecord.objects.filter(field="owner").count() == 2


def test_first_address_becomes_default_and_only_one_default_remains(db, make_customer, system_actor):
    customer = make_customer()
    first = services.add_address(customer, data={"line1": "1 Nanjing Rd", "city": "Shanghai"}, actor=system_actor)
    second = services.add_address(customer, data={"line1": "2 Huaihai Rd", "is_default": True}, actor=system_actor)
    first.refresh_from_db()
    assert second.is_default and not first.is_default
    with connection.cursor() as cursor:
        cursor.execute("SELECT line1 FROM customers_address")
        assert all("Nanjing" not in row[0] for row in cursor.fetchall())


def test_store_codes_are_unique_and_time_zones_checked(db, system_actor, store):
    with pytest.raises(InvalidInput) as excinfo:
        services.create_store(data={"code": "sh-01", "name": "X", "time_zone": "Mars/Olympus"}, actor=system_actor)
    assert {e.field for e in excinfo.value.errors} == {"code", "time_zone"}


def test_a_customer_with_kept_records_is_not_deleted(make_customer, system_actor):
    from django.utils import timezone

    from rapport.service.models import Ticket

    customer = make_customer(name="Li Lei")
    now = timezone.now()
    Ticket.objects.create(subject="Tea?", channel="email", customer=customer, created_at=now, updated_at=now)
    with pytest.raises(Conflict) as caught:
        services.delete_customer(customer, actor=system_actor)
    assert caught.value.errors[0].code == "has_records" and "tickets" in caught.value.errors[0].message
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.DELETE).exists()
