"""Customer business rules: create, update, upsert by identity, notes, ownership, reveal.

Every function owns its transaction, writes change records and an audit entry, and is the
only way the API, console, importer and jobs change customers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, Q, QuerySet

from rapport.accounts.services import staff_store_id
from rapport.audit.models import AuditEntry
from rapport.audit.services import record, record_reveal
from rapport.core import pii
from rapport.core.actor import Actor
from rapport.core.bulk import all_or_nothing
from rapport.core.changes import Change, customers_changed
from rapport.core.errors import Conflict, FieldError, InvalidInput, NotFound
from rapport.customers import history
from rapport.customers.models import (
    Address,
    Customer,
    CustomFieldDefinition,
    Identity,
    MergedCustomer,
    Note,
    Store,
    identity_index_of,
    pinyin_query,
)
from rapport.customers.validation import PII_FIELDS, LookupCache, clean_profile

_INDEX_OF = {"phone": "phone_index", "email": "email_index", "id_number": "id_number_index"}


def _snapshot(customer: Customer, fields: Iterable[str]) -> dict[str, Any]:
    return {field: getattr(customer, field) for field in fields}


def _check_unique_keys(cleaned: Mapping[str, Any], *, exclude_pk: int | None, prefix: str = "") -> None:
    """Phone and email identify one person: refuse a second customer with the same one."""
    errors = []
    for field in ("phone", "email"):
        index = cleaned.get(_INDEX_OF[field])
        if not index:
            continue
        clash = Customer.objects.filter(**{_INDEX_OF[field]: index})
        if exclude_pk is not None:
            clash = clash.exclude(pk=exclude_pk)
        other = clash.values_list("pk", flat=True).first()
        if other is not None:
            errors.append(FieldError(f"{prefix}{field}", "duplicate", f"customer #{other} already has this {field}"))
    if errors:
        raise Conflict(errors)


@transaction.atomic
def create_customer(
    *,
    data: Mapping[str, Any],
    actor: Actor,
    identities: Iterable[tuple[str, str]] = (),
    cache: LookupCache | None = None,
    recruited_by: AbstractBaseUser | None = None,
) -> Customer:
    """A new customer; ``recruited_by``, the staff member who signed them up (at the counter, or a
    referral), is recorded with their store."""
    cleaned = clean_profile(data, cache=cache)
    _check_unique_keys(cleaned, exclude_pk=None)
    if recruited_by is not None:
        cleaned.update(recruited_by_id=recruited_by.pk, recruited_at_id=staff_store_id(recruited_by))
    customer = Customer.objects.create(**cleaned)
    for channel, external_id in identities:
        _attach_identity(customer, channel, external_id)
    record(
        actor,
        AuditEntry.Action.CREATE,
        obj=customer,
        changes={
            "fields": sorted(k for k in data if k not in PII_FIELDS),
            "identities": [list(i) for i in identities],
        },
    )
    return customer


@transaction.atomic
def update_customer(
    customer: Customer, *, data: Mapping[str, Any], actor: Actor, cache: LookupCache | None = None
) -> Customer:
    """Apply the given fields; record each actual change (who/what/when/old→new/source)."""
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    cleaned = clean_profile(data, instance=locked, cache=cache)
    _check_unique_keys(cleaned, exclude_pk=locked.pk)
    visible = {k: v for k, v in cleaned.items() if not k.endswith("_index")}
    changes = history.diff(_snapshot(locked, visible), visible)
    if not changes:
        return locked
    for field, value in cleaned.items():
        setattr(locked, field, value)
    locked.save()
    history.record_changes(locked, changes, actor)
    customers_changed([locked.pk], kind=Change.PROFILE)
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=locked,
        changes={
            field: [
                history.display_value(field.removesuffix("_id"), old),
                history.display_value(field.removesuffix("_id"), new),
            ]
            for field, (old, new) in changes.items()
        },
    )
    return locked


def identity_indexes(text: str) -> list[str]:
    """The blind indexes ``text`` has as an id of each channel that holds identities: how a search
    box finds an identity without knowing its channel."""
    channels = Identity.objects.order_by("channel").values_list("channel", flat=True).distinct()
    return [identity_index_of(channel, text) for channel in channels]


def find_by_identity(channel: str, external_id: str) -> Customer | None:
    identity = (
        Identity.objects.select_related("customer")
        .filter(external_index=identity_index_of(channel, external_id))
        .first()
    )
    return identity.customer if identity else None


def _attach_identity(customer: Customer, channel: str, external_id: str) -> Identity:
    channel, external_id = (channel or "").strip(), (external_id or "").strip()
    errors = []
    if not channel or len(channel) > 40:
        errors.append(FieldError("identities.channel", "invalid", "a channel name of 1 to 40 characters"))
    if not external_id or len(external_id) > 128:
        errors.append(FieldError("identities.external_id", "invalid", "an external id of 1 to 128 characters"))
    if errors:
        raise InvalidInput(errors)
    existing = Identity.objects.filter(external_index=identity_index_of(channel, external_id)).first()
    if existing is not None:
        if existing.customer_id != customer.pk:
            raise Conflict.single(
                "identities",
                "duplicate",
                f"{channel}:{external_id} already belongs to customer #{existing.customer_id}",
            )
        return existing
    try:
        with transaction.atomic():
            return Identity.objects.create(customer=customer, channel=channel, external_id=external_id)
    except IntegrityError as exc:  # a concurrent writer attached it first
        raise Conflict.single("identities", "duplicate", f"{channel}:{external_id} is already taken") from exc


@transaction.atomic
def add_identity(customer: Customer, *, channel: str, external_id: str, actor: Actor) -> Identity:
    identity = _attach_identity(customer, channel, external_id)
    record(actor, AuditEntry.Action.UPDATE, obj=customer, changes={"identity_added": str(identity)})
    return identity


@transaction.atomic
def upsert_customer(
    *,
    channel: str,
    external_id: str,
    data: Mapping[str, Any],
    actor: Actor,
    cache: LookupCache | None = None,
) -> tuple[Customer, bool]:
    """Create or update the customer known to ``channel`` as ``external_id``; idempotent.

    When the identity is new but the phone or email already belongs to a customer, the
    identity is attached to that customer instead of creating a duplicate person.
    """
    customer = find_by_identity(channel, external_id)
    if customer is None:
        cleaned = clean_profile(data, cache=cache)
        for index_field in ("phone_index", "email_index"):
            if cleaned.get(index_field):
                customer = Customer.objects.filter(**{index_field: cleaned[index_field]}).first()
                if customer is not None:
                    break
        if customer is None:
            return create_customer(data=data, actor=actor, identities=[(channel, external_id)], cache=cache), True
        add_identity(customer, channel=channel, external_id=external_id, actor=actor)
    return update_customer(customer, data=data, actor=actor, cache=cache), False


def bulk_upsert_customers(items: Sequence[Mapping[str, Any]], *, actor: Actor) -> list[tuple[Customer, bool]]:
    """Upsert many ``{channel, external_id, data}`` items, all or nothing."""
    cache = LookupCache()
    return all_or_nothing(
        items,
        lambda item: upsert_customer(
            channel=str(item.get("channel") or ""),
            external_id=str(item.get("external_id") or ""),
            data=item.get("data") or {},
            actor=actor,
            cache=cache,
        ),
    )


@transaction.atomic
def delete_customer(customer: Customer, *, actor: Actor) -> None:
    """Remove a customer who never bought; one with orders or other kept records (ledger entries,
    tickets: whatever another domain protects) is kept for the books."""
    if customer.orders.exists():
        raise Conflict.single("id", "has_orders", "a customer with orders cannot be deleted")
    record(actor, AuditEntry.Action.DELETE, obj=customer, changes={"name": customer.name})
    try:
        with transaction.atomic():
            customer.delete()
    except ProtectedError as exc:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        raise Conflict.single("id", "has_records", f"the customer has {', '.join(kinds)} that must be kept") from exc


@transaction.atomic
def add_note(customer: Customer, *, body: str, actor: Actor) -> Note:
    text = (body or "").strip()
    if not text:
        raise InvalidInput.single("body", "required", "a note cannot be empty")
    if len(text) > 5000:
        raise InvalidInput.single("body", "too_long", "a note has at most 5000 characters")
    note = Note.objects.create(customer=customer, author=actor.staff_user, body=text)
    record(actor, AuditEntry.Action.CREATE, obj=note, changes={"customer_id": customer.pk})
    return note


@transaction.atomic
def assign_owner(customers: QuerySet[Customer], *, owner: AbstractBaseUser | None, actor: Actor) -> int:
    """Give customers to a staff member (客户归属); each change is recorded per customer."""
    changed = 0
    owner_id = owner.pk if owner is not None else None
    for customer in customers.select_for_update().exclude(owner_id=owner_id).order_by("pk"):
        history.record_changes(customer, {"owner_id": (customer.owner_id, owner_id)}, actor)
        customer.owner_id = owner_id
        customer.save(update_fields=["owner", "updated_at"])
        changed += 1
    record(
        actor,
        AuditEntry.Action.ASSIGN,
        object_type="customers.customer",
        object_repr=f"{changed} customers",
        changes={"owner_id": owner_id, "count": changed},
    )
    return changed


def reveal_personal_data(customer: Customer, *, actor: Actor) -> dict[str, Any]:
    """Plaintext personal data for someone allowed to see it; every call is audited."""
    addresses = [{"id": a.pk, "phone": a.phone, "line1": a.line1, "line2": a.line2} for a in customer.addresses.all()]
    record_reveal(actor, customer, fields=["phone", "email", "id_number", "addresses"])
    return {
        "phone": customer.phone,
        "email": customer.email,
        "id_number": customer.id_number,
        "addresses": addresses,
    }


ID_SEARCH = re.compile(r"#\s*(\d{1,18})")


def search(queryset: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    """Search by what staff are told at a counter or on the phone, never decrypting anything.

    ``#1057`` is customer 1057 and nothing else. Otherwise a customer matches on a phone or email
    (exact, through the blind index), the last four digits of a phone (``1057``, through the
    phone-tail blind index), an external id, a part of the name, or a Latin or pinyin spelling
    of it (``wang fang``, ``wangfang``, ``wf`` for 王芳, through ``name_pinyin``).
    """
    text = (text or "").strip()
    if not text:
        return queryset
    by_id = ID_SEARCH.fullmatch(text)
    if by_id:
        return queryset.filter(pk=int(by_id.group(1)))
    condition = Q(name__icontains=text) | Q(identities__external_index__in=identity_indexes(text))
    pinyin = pinyin_query(text)
    if pinyin:
        condition |= Q(name_pinyin__contains=pinyin)
    email_index = pii.search_index_for_email(text)
    if email_index:
        condition |= Q(email_index=email_index)
    phone_index = pii.search_index_for_phone(text)
    if phone_index:
        condition |= Q(phone_index=phone_index)
    tail_index = pii.search_index_for_phone_tail(text)
    if tail_index:
        condition |= Q(phone_tail_index=tail_index)
    matching = Customer.objects.filter(condition).values("pk")
    return queryset.filter(pk__in=matching)


# Addresses ---------------------------------------------------------------------------------

_ADDRESS_FIELDS = {
    "label": 40,
    "recipient": 120,
    "phone": None,
    "country": 2,
    "province": 60,
    "city": 80,
    "district": 80,
    "line1": 300,
    "line2": 300,
    "postal_code": 16,
    "is_default": None,
}


def _clean_address(data: Mapping[str, Any]) -> dict[str, Any]:
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in _ADDRESS_FIELDS]
    cleaned: dict[str, Any] = {}
    for field, limit in _ADDRESS_FIELDS.items():
        if field not in data:
            continue
        value = data[field]
        if field == "is_default":
            cleaned[field] = bool(value)
        elif field == "phone":
            try:
                cleaned[field] = pii.normalise_phone(str(value)) if value else ""
            except Exception as exc:  # ValidationError
                errors.append(FieldError("phone", "invalid", str(getattr(exc, "message", exc))))
        else:
            text = str(value or "").strip()
            if limit is not None and len(text) > limit:
                errors.append(FieldError(field, "too_long", f"at most {limit} characters"))
            cleaned[field] = text.upper() if field == "country" else text
    if errors:
        raise InvalidInput(errors)
    return cleaned


@transaction.atomic
def add_address(customer: Customer, *, data: Mapping[str, Any], actor: Actor) -> Address:
    cleaned = _clean_address(data)
    if not cleaned.get("line1"):
        raise InvalidInput.single("line1", "required", "an address needs its first line")
    if cleaned.get("is_default") or not customer.addresses.exists():
        customer.addresses.filter(is_default=True).update(is_default=False)
        cleaned["is_default"] = True
    address = Address.objects.create(customer=customer, **cleaned)
    record(actor, AuditEntry.Action.CREATE, obj=address, changes={"customer_id": customer.pk})
    return address


@transaction.atomic
def update_address(address: Address, *, data: Mapping[str, Any], actor: Actor) -> Address:
    cleaned = _clean_address(data)
    if "line1" in cleaned and not cleaned["line1"]:
        raise InvalidInput.single("line1", "required", "an address needs its first line")
    if cleaned.get("is_default"):
        Address.objects.filter(customer_id=address.customer_id, is_default=True).exclude(pk=address.pk).update(
            is_default=False
        )
    for field, value in cleaned.items():
        setattr(address, field, value)
    address.save()
    record(actor, AuditEntry.Action.UPDATE, obj=address, changes={"fields": sorted(cleaned)})
    return address


@transaction.atomic
def delete_address(address: Address, *, actor: Actor) -> None:
    record(actor, AuditEntry.Action.DELETE, obj=address, changes={"customer_id": address.customer_id})
    address.delete()


# Stores and custom field definitions -------------------------------------------------------

_STORE_FIELDS = ["code", "name", "city", "time_zone", "currency", "is_online", "is_active"]


def _clean_store(data: Mapping[str, Any], *, instance: Store | None) -> dict[str, Any]:
    import zoneinfo

    from django.utils.text import slugify

    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in _STORE_FIELDS]
    cleaned = {k: data[k] for k in _STORE_FIELDS if k in data}
    if "code" in cleaned or instance is None:
        code = str(cleaned.get("code") or "").strip()
        if not code or slugify(code) != code or len(code) > 40:
            errors.append(FieldError("code", "invalid", "a code of letters, digits, - and _ (at most 40)"))
        elif Store.objects.filter(code=code).exclude(pk=instance.pk if instance else 0).exists():
            errors.append(FieldError("code", "duplicate", f"a store with code {code!r} exists"))
    if "name" in cleaned or instance is None:
        name = str(cleaned.get("name") or "").strip()
        if not name or len(name) > 120:
            errors.append(FieldError("name", "required", "a store name of 1 to 120 characters"))
        cleaned["name"] = name
    if len(str(cleaned.get("city") or "")) > _column_length(Store, "city"):
        errors.append(FieldError("city", "too_long", f"at most {_column_length(Store, 'city')} characters"))
    if "time_zone" in cleaned and cleaned["time_zone"] not in zoneinfo.available_timezones():
        errors.append(FieldError("time_zone", "invalid", f"unknown time zone {cleaned['time_zone']!r}"))
    if "currency" in cleaned:
        currency = str(cleaned["currency"] or "").upper()
        if len(currency) != 3 or not currency.isalpha():
            errors.append(FieldError("currency", "invalid", "an ISO 4217 code such as CNY"))
        cleaned["currency"] = currency
    if errors:
        raise InvalidInput(errors)
    return cleaned


@transaction.atomic
def create_store(*, data: Mapping[str, Any], actor: Actor) -> Store:
    store = Store.objects.create(**_clean_store(data, instance=None))
    record(actor, AuditEntry.Action.CREATE, obj=store, changes={k: str(v) for k, v in data.items()})
    return store


@transaction.atomic
def update_store(store: Store, *, data: Mapping[str, Any], actor: Actor) -> Store:
    cleaned = _clean_store(data, instance=store)
    before = {k: getattr(store, k) for k in cleaned}
    for field, value in cleaned.items():
        setattr(store, field, value)
    store.save()
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=store,
        changes={k: [str(before[k]), str(v)] for k, v in cleaned.items() if before[k] != v},
    )
    return store


_DEFINITION_FIELDS = [
    "key",
    "label",
    "field_type",
    "choices",
    "required",
    "max_length",
    "help_text",
    "position",
    "is_active",
]


def _column_length(model: type[models.Model], name: str) -> int:
    """The longest text a model's character column holds (checked here: the database would refuse it late)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.CharField) and field.max_length is not None
    return field.max_length


def _definition_key_errors(key: str, instance: CustomFieldDefinition | None) -> list[FieldError]:
    """A key is a unique identifier-like slug, and fixed once the field exists."""
    from django.utils.text import slugify

    if not key or slugify(key).replace("-", "_") != key or len(key) > 50:
        return [FieldError("key", "invalid", "a key of lower-case letters, digits and _ (at most 50)")]
    if CustomFieldDefinition.objects.filter(key=key).exclude(pk=instance.pk if instance else 0).exists():
        return [FieldError("key", "duplicate", f"a custom field {key!r} exists")]
    if instance is not None and key != instance.key:
        return [FieldError("key", "immutable", "the key of a field cannot change")]
    return []


def _definition_type_errors(field_type: Any, instance: CustomFieldDefinition | None) -> list[FieldError]:
    if field_type not in CustomFieldDefinition.FieldType.values:
        return [FieldError("field_type", "invalid", f"one of: {', '.join(CustomFieldDefinition.FieldType.values)}")]
    if instance is not None and field_type != instance.field_type:
        return [FieldError("field_type", "immutable", "the type of an existing field cannot change")]
    return []


@transaction.atomic
def save_custom_field(
    *, data: Mapping[str, Any], actor: Actor, instance: CustomFieldDefinition | None = None
) -> CustomFieldDefinition:
    """Define or change a custom profile field. The type of a field in use cannot change."""
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in _DEFINITION_FIELDS]
    values = {k: data[k] for k in _DEFINITION_FIELDS if k in data}
    if instance is None or "key" in values:
        errors += _definition_key_errors(str(values.get("key") or "").strip(), instance)
    if (instance is None or "label" in values) and not str(values.get("label") or "").strip():
        errors.append(FieldError("label", "required", "give the field a label"))
    for name in ("label", "help_text"):
        limit = _column_length(CustomFieldDefinition, name)
        if len(str(values.get(name) or "")) > limit:
            errors.append(FieldError(name, "too_long", f"at most {limit} characters"))
    if instance is None or "field_type" in values:
        errors += _definition_type_errors(values.get("field_type"), instance)
    kind = values.get("field_type", getattr(instance, "field_type", None))
    if kind in ("choice", "multi_choice"):
        choices = values.get("choices", getattr(instance, "choices", []))
        if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
            errors.append(FieldError("choices", "invalid", "a list of at least one non-empty text choice"))
    if errors:
        raise InvalidInput(errors)
    if instance is None:
        definition = CustomFieldDefinition.objects.create(**values)
        record(actor, AuditEntry.Action.CREATE, obj=definition, changes={"key": definition.key})
    else:
        for field, value in values.items():
            setattr(instance, field, value)
        instance.save()
        definition = instance
        record(actor, AuditEntry.Action.UPDATE, obj=definition, changes={"fields": sorted(values)})
    return definition


def get_customer(queryset: QuerySet[Customer], pk: int) -> Customer:
    """The customer with this id, or the survivor it was merged into, within ``queryset``."""
    customer = queryset.filter(pk=pk).first()
    if customer is None:
        survivor_id = MergedCustomer.objects.filter(merged_id=pk).values_list("survivor_id", flat=True).first()
        if survivor_id is not None:
            customer = queryset.filter(pk=survivor_id).first()
    if customer is None:
        raise NotFound.single("id", "not_found", f"no customer #{pk}")
    return customer
