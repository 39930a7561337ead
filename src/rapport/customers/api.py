"""``/api/v1`` customers, stores and custom fields. Handlers stay thin: services hold the rules.

Personal data is always masked in these bodies; ``POST /customers/{id}/reveal`` returns it in
plaintext to those allowed, and each reveal is audited. Customers outside the caller's data
scope answer 404, as if they did not exist.
"""

from __future__ import annotations

from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from rapport.accounts.scopes import CUSTOMERS_READ, CUSTOMERS_WRITE, PII_REVEAL
from rapport.core import pii
from rapport.core.api import Strict, actor_for, require
from rapport.core.bulk import bulk_summary
from rapport.core.errors import InvalidInput, NotFound
from rapport.core.jobs import enqueue
from rapport.core.listing import order, page_body, paginate
from rapport.customers import consent, merge, queries, services
from rapport.customers.models import (
    OWNER_FIELD,
    Address,
    ChangeRecord,
    Customer,
    CustomerMerge,
    CustomFieldDefinition,
    MergeSuggestion,
    Note,
    Store,
)
from rapport.customers.responses import (
    AddIdentityOut,
    AddressOut,
    BulkCustomersOut,
    ChangePage,
    ConsentsOut,
    CustomerOut,
    CustomerPage,
    CustomersNoteOut,
    DefinitionOut,
    MergeOut,
    RevealOut,
    ScanSuggestionsOut,
    StoreOut,
    SuggestionPage,
)
from rapport.customers.validation import LookupCache

router = Router(tags=["customers"], exclude_unset=True)

VIEW = "customers.view_customer"
CHANGE = "customers.change_customer"


# Bodies ------------------------------------------------------------------------------------


class IdentityIn(Strict):
    channel: str
    external_id: str


class CustomerIn(Strict):
    """Profile fields; all optional on update. Values are validated like every other entry point."""

    name: str | None = None
    gender: str | None = None
    birthday: str | None = None
    lunar_birthday: bool | None = Field(None, description="the birthday is kept by the Chinese calendar (农历)")
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None
    city: str | None = None
    member_status: str | None = None
    registered_at: str | None = None
    registration_channel: str | None = None
    store: str | int | None = Field(None, description="store id or code")
    owner: str | int | None = Field(None, description="staff user id or username")
    custom_fields: dict[str, Any] | None = None


class CustomerCreate(CustomerIn):
    identities: list[IdentityIn] = []
    recruited_by: str | int | None = Field(
        None, description="the staff member who signed the customer up or referred them: user id or username"
    )


class UpsertItem(Strict):
    channel: str
    external_id: str
    data: CustomerIn


class BulkCustomers(Strict):
    items: list[UpsertItem]


class NoteIn(Strict):
    body: str


class ConsentDecisionIn(Strict):
    channel: str = Field(description="email, sms, push, wechat, site or call")
    purpose: str = Field(description="marketing or service")
    granted: bool


class ConsentsIn(Strict):
    consents: list[ConsentDecisionIn]
    evidence: str = Field("", description="how the customer decided, e.g. 'sign-up form, 2026-11-30'")


class OwnerIn(Strict):
    owner: str | int | None = Field(description="staff user id or username; null to unassign")


class AddressIn(Strict):
    label: str | None = None
    recipient: str | None = None
    phone: str | None = None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    is_default: bool | None = None


class StoreIn(Strict):
    code: str | None = None
    name: str | None = None
    city: str | None = None
    time_zone: str | None = None
    currency: str | None = None
    is_online: bool | None = None
    is_active: bool | None = None


class CustomFieldIn(Strict):
    key: str | None = None
    label: str | None = None
    field_type: str | None = None
    choices: list[str] | None = None
    required: bool | None = None
    max_length: int | None = Field(None, ge=1, le=10000)
    help_text: str | None = None
    position: int | None = Field(None, ge=0)
    is_active: bool | None = None


# Representations ---------------------------------------------------------------------------


def store_body(store: Store) -> dict[str, Any]:
    return {
        "id": store.pk,
        "code": store.code,
        "name": store.name,
        "city": store.city,
        "time_zone": store.time_zone,
        "currency": store.currency,
        "is_online": store.is_online,
        "is_active": store.is_active,
    }


def stats_body(customer: Customer) -> dict[str, Any]:
    stats = getattr(customer, "stats", None)
    if stats is None:
        return {"order_count": 0, "total_spent": "0.00", "net_spent": "0.00", "average_order_value": "0.00"}
    return {
        "order_count": stats.order_count,
        "total_spent": str(stats.total_spent),
        "total_refunded": str(stats.total_refunded),
        "net_spent": str(stats.net_spent),
        "average_order_value": str(stats.average_order_value),
        "currency": stats.currency,
        "first_order_at": stats.first_order_at,
        "last_order_at": stats.last_order_at,
    }


def customer_body(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "name": customer.name,
        "gender": customer.gender,
        "birthday": customer.birthday,
        "lunar_birthday": customer.lunar_birthday,
        "phone": customer.masked_phone,
        "email": customer.masked_email,
        "id_number": customer.masked_id_number,
        "city": customer.city,
        "member_status": customer.member_status,
        "registered_at": customer.registered_at,
        "registration_channel": customer.registration_channel,
        "store": customer.store.code if customer.store else None,
        "owner": customer.owner.get_username() if customer.owner else None,
        "custom_fields": customer.custom_fields,
        "identities": [{"channel": i.channel, "external_id": i.external_id} for i in customer.identities.all()],
        "stats": stats_body(customer),
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }


def address_body(address: Address) -> dict[str, Any]:
    return {
        "id": address.pk,
        "label": address.label,
        "recipient": address.recipient,
        "phone": address.phone and pii.mask_phone(address.phone),
        "country": address.country,
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "line1": "****" if address.line1 else "",
        "postal_code": address.postal_code,
        "is_default": address.is_default,
    }


def note_body(note: Note) -> dict[str, Any]:
    return {
        "id": note.pk,
        "body": note.body,
        "author": note.author.get_username() if note.author else None,
        "created_at": note.created_at,
    }


def change_body(change: ChangeRecord) -> dict[str, Any]:
    if change.field == OWNER_FIELD:  # the owners' user ids, as the history gave them before they were readable
        old, new = (str(pk) if pk else "" for pk in (change.owner_before_id, change.owner_after_id))
    else:
        old, new = change.old_value, change.new_value
    return {
        "field": change.field,
        "old_value": old,
        "new_value": new,
        "actor": change.actor_label,
        "source": change.source,
        "created_at": change.created_at,
    }


def definition_body(definition: CustomFieldDefinition) -> dict[str, Any]:
    return {
        "key": definition.key,
        "label": definition.label,
        "field_type": definition.field_type,
        "choices": definition.choices,
        "required": definition.required,
        "max_length": definition.max_length,
        "help_text": definition.help_text,
        "position": definition.position,
        "is_active": definition.is_active,
    }


def _given(body: Schema) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


# Customers ---------------------------------------------------------------------------------


@router.get("/customers", response={200: CustomerPage}, summary="List and search customers")
def list_customers(
    request: HttpRequest,
    q: str = "",
    store: str = "",
    owner: str = "",
    channel: str = "",
    member_status: str = "",
    city: str = "",
    registered_after: str = "",
    registered_before: str = "",
    order_by: str = "-registered_at",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Filter with the named parameters and ``cf.<key>=value`` for custom fields.

    ``q`` finds a name or a part of it (also in pinyin: ``wang fang``, ``wangfang`` or ``wf`` for
    王芳), a phone or its last four digits (``1057``), an email, an external id, or ``#1057`` for the
    customer with id 1057.
    """
    require(request, CUSTOMERS_READ, VIEW)
    params = {k: v for k, v in request.GET.items() if k.startswith(queries.CUSTOM_FILTER_PREFIX)}
    params.update(
        q=q,
        store=store,
        owner=owner,
        channel=channel,
        member_status=member_status,
        city=city,
        registered_after=registered_after,
        registered_before=registered_before,
    )
    customers = queries.filter_customers(queries.visible_customers(request.user), params)
    customers = order(customers, order_by, queries.ORDERINGS, "-registered_at").prefetch_related("identities")
    page = paginate(customers, limit=limit, offset=offset)
    return page_body(page, [customer_body(c) for c in page.items])


@router.post("/customers", response={201: CustomerOut}, summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerCreate) -> Status[dict[str, Any]]:
    require(request, CUSTOMERS_WRITE, "customers.add_customer")
    data = _given(payload)
    identities = [(i["channel"], i["external_id"]) for i in data.pop("identities", [])]
    recruiter = _recruiter(data.pop("recruited_by", None))
    customer = services.create_customer(
        data=data, actor=actor_for(request), identities=identities, recruited_by=recruiter
    )
    return Status(201, customer_body(customer))


def _recruiter(ref: str | int | None) -> AbstractBaseUser | None:
    if ref in (None, ""):
        return None
    staff_id = LookupCache().owner_id(ref)
    if staff_id is None:
        raise InvalidInput.single("recruited_by", "not_found", f"no active staff user {ref!r}")
    return get_user_model().objects.get(pk=staff_id)


@router.post(
    "/customers/bulk",
    response={200: BulkCustomersOut},
    summary="Upsert up to 1000 customers by channel + external id, all or nothing",
)
def bulk_customers(request: HttpRequest, payload: BulkCustomers) -> dict[str, Any]:
    require(request, CUSTOMERS_WRITE, "customers.add_customer", CHANGE)
    items = [
        {"channel": i.channel, "external_id": i.external_id, "data": i.data.model_dump(exclude_unset=True)}
        for i in payload.items
    ]
    return bulk_summary(services.bulk_upsert_customers(items, actor=actor_for(request)))


@router.get("/customers/{customer_id}", response={200: CustomerOut}, summary="One customer, personal data masked")
def get_customer(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    require(request, CUSTOMERS_READ, VIEW)
    return customer_body(queries.visible_customer(request.user, customer_id))


@router.patch(
    "/customers/{customer_id}", response={200: CustomerOut}, summary="Change profile fields; each change is recorded"
)
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerIn) -> dict[str, Any]:
    require(request, CUSTOMERS_WRITE, CHANGE)
    customer = services.update_customer(
        queries.visible_customer(request.user, customer_id), data=_given(payload), actor=actor_for(request)
    )
    return customer_body(queries.visible_customers(request.user).get(pk=customer.pk))


@router.delete("/customers/{customer_id}", response={204: None}, summary="Delete a customer without orders")
def delete_customer(request: HttpRequest, customer_id: int) -> Status[None]:
    require(request, CUSTOMERS_WRITE, "customers.delete_customer")
    services.delete_customer(queries.visible_customer(request.user, customer_id), actor=actor_for(request))
    return Status(204, None)


@router.post(
    "/customers/{customer_id}/reveal", response={200: RevealOut}, summary="Personal data in plaintext (audited)"
)
def reveal(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    require(request, PII_REVEAL, VIEW, "customers.reveal_pii")
    return services.reveal_personal_data(queries.visible_customer(request.user, customer_id), actor=actor_for(request))


@router.get(
    "/customers/{customer_id}/history", response={200: ChangePage}, summary="Every recorded field change, newest first"
)
def history(request: HttpRequest, customer_id: int, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, CUSTOMERS_READ, VIEW)
    page = paginate(queries.visible_customer(request.user, customer_id).changes.all(), limit=limit, offset=offset)
    return page_body(page, [change_body(c) for c in page.items])


@router.post("/customers/{customer_id}/identities", response={201: AddIdentityOut}, summary="Attach a channel identity")
def add_identity(request: HttpRequest, customer_id: int, payload: IdentityIn) -> Status[dict[str, Any]]:
    require(request, CUSTOMERS_WRITE, CHANGE)
    identity = services.add_identity(
        queries.visible_customer(request.user, customer_id),
        channel=payload.channel,
        external_id=payload.external_id,
        actor=actor_for(request),
    )
    return Status(201, {"channel": identity.channel, "external_id": identity.external_id})


@router.get("/customers/{customer_id}/notes", response={200: list[CustomersNoteOut]}, summary="Notes, newest first")
def list_notes(request: HttpRequest, customer_id: int) -> list[dict[str, Any]]:
    require(request, CUSTOMERS_READ, VIEW)
    notes = queries.visible_customer(request.user, customer_id).notes.select_related("author")
    return [note_body(n) for n in notes]


@router.post("/customers/{customer_id}/notes", response={201: CustomersNoteOut}, summary="Add a note")
def add_note(request: HttpRequest, customer_id: int, payload: NoteIn) -> Status[dict[str, Any]]:
    require(request, CUSTOMERS_WRITE, "customers.add_note")
    note = services.add_note(
        queries.visible_customer(request.user, customer_id), body=payload.body, actor=actor_for(request)
    )
    return Status(201, note_body(note))


def _consents_body(customer: Customer) -> dict[str, Any]:
    state = consent.consent_state(customer)
    history = customer.consent_records.all()[:100]
    return {
        "consents": [
            {
                "channel": s["channel"],
                "purpose": s["purpose"],
                "granted": s["granted"],
                "explicit": s["explicit"],
                "updated_at": s["updated_at"],
            }
            for s in state
        ],
        "history": [
            {
                "channel": r.channel,
                "purpose": r.purpose,
                "granted": r.granted,
                "source": r.source,
                "by": r.actor_label,
                "evidence": r.evidence,
                "recorded_at": r.recorded_at,
            }
            for r in history
        ],
    }


@router.get(
    "/customers/{customer_id}/consents",
    response={200: ConsentsOut},
    summary="Consent per channel and purpose, and its history",
)
def get_consents(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    require(request, CUSTOMERS_READ, VIEW)
    return _consents_body(queries.visible_customer(request.user, customer_id))


@router.put(
    "/customers/{customer_id}/consents", response={200: ConsentsOut}, summary="Record consent decisions (all or none)"
)
def put_consents(request: HttpRequest, customer_id: int, payload: ConsentsIn) -> dict[str, Any]:
    require(request, CUSTOMERS_WRITE, "customers.change_customer")
    customer = queries.visible_customer(request.user, customer_id)
    consent.set_consents(
        customer,
        [d.model_dump() for d in payload.consents],
        actor=actor_for(request),
        evidence=payload.evidence,
    )
    return _consents_body(customer)


@router.put(
    "/customers/{customer_id}/owner", response={200: CustomerOut}, summary="Assign the customer to a staff member"
)
def set_owner(request: HttpRequest, customer_id: int, payload: OwnerIn) -> dict[str, Any]:
    require(request, CUSTOMERS_WRITE, "customers.assign_owner")
    customer = queries.visible_customer(request.user, customer_id)
    owner = None
    if payload.owner not in (None, ""):
        owner_id = LookupCache().owner_id(payload.owner)
        if owner_id is None:
            raise InvalidInput.single("owner", "not_found", f"no staff user {payload.owner!r}")
        owner = get_user_model().objects.get(pk=owner_id)
    services.assign_owner(Customer.objects.filter(pk=customer.pk), owner=owner, actor=actor_for(request))
    return customer_body(Customer.objects.select_related("store", "owner").get(pk=customer.pk))


@router.get(
    "/customers/{customer_id}/addresses", response={200: list[dict[str, Any]]}, summary="Addresses, lines masked"
)
def list_addresses(request: HttpRequest, customer_id: int) -> list[dict[str, Any]]:
    require(request, CUSTOMERS_READ, VIEW)
    return [address_body(a) for a in queries.visible_customer(request.user, customer_id).addresses.all()]


@router.post("/customers/{customer_id}/addresses", response={201: AddressOut}, summary="Add an address")
def add_address(request: HttpRequest, customer_id: int, payload: AddressIn) -> Status[dict[str, Any]]:
    require(request, CUSTOMERS_WRITE, CHANGE)
    address = services.add_address(
        queries.visible_customer(request.user, customer_id), data=_given(payload), actor=actor_for(request)
    )
    return Status(201, address_body(address))


def _address(request: HttpRequest, customer_id: int, address_id: int) -> Address:
    address = queries.visible_customer(request.user, customer_id).addresses.filter(pk=address_id).first()
    if address is None:
        raise NotFound.single("address_id", "not_found", f"no address #{address_id} for this customer")
    return address


@router.patch(
    "/customers/{customer_id}/addresses/{address_id}", response={200: AddressOut}, summary="Change an address"
)
def update_address(request: HttpRequest, customer_id: int, address_id: int, payload: AddressIn) -> dict[str, Any]:
    require(request, CUSTOMERS_WRITE, CHANGE)
    address = _address(request, customer_id, address_id)
    return address_body(services.update_address(address, data=_given(payload), actor=actor_for(request)))


@router.delete("/customers/{customer_id}/addresses/{address_id}", response={204: None}, summary="Remove an address")
def delete_address(request: HttpRequest, customer_id: int, address_id: int) -> Status[None]:
    require(request, CUSTOMERS_WRITE, CHANGE)
    services.delete_address(_address(request, customer_id, address_id), actor=actor_for(request))
    return Status(204, None)


# Stores ------------------------------------------------------------------------------------


def _store(store_id: int) -> Store:
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        raise NotFound.single("store_id", "not_found", f"no store #{store_id}")
    return store


@router.get("/stores", response={200: list[dict[str, Any]]}, summary="All stores")
def list_stores(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, CUSTOMERS_READ, "customers.view_store")
    return [store_body(s) for s in Store.objects.all()]


@router.post("/stores", response={201: StoreOut}, summary="Create a store")
def create_store(request: HttpRequest, payload: StoreIn) -> Status[dict[str, Any]]:
    require(request, CUSTOMERS_WRITE, "customers.add_store")
    return Status(201, store_body(services.create_store(data=_given(payload), actor=actor_for(request))))


@router.get("/stores/{store_id}", response={200: dict[str, Any]}, summary="One store")
def get_store(request: HttpRequest, store_id: int) -> dict[str, Any]:
    require(request, CUSTOMERS_READ, "customers.view_store")
    return store_body(_store(store_id))


@router.patch("/stores/{store_id}", response={200: StoreOut}, summary="Change a store")
def update_store(request: HttpRequest, store_id: int, payload: StoreIn) -> dict[str, Any]:
    require(request, CUSTOMERS_WRITE, "customers.change_store")
    return store_body(services.update_store(_store(store_id), data=_given(payload), actor=actor_for(request)))


# Custom fields -----------------------------------------------------------------------------


@router.get("/custom-fields", response={200: list[dict[str, Any]]}, summary="Custom profile field definitions")
def list_custom_fields(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, CUSTOMERS_READ, "customers.view_customfielddefinition")
    return [definition_body(d) for d in CustomFieldDefinition.objects.all()]


@router.post("/custom-fields", response={201: DefinitionOut}, summary="Define a custom field")
def create_custom_field(request: HttpRequest, payload: CustomFieldIn) -> Status[dict[str, Any]]:
    require(request, CUSTOMERS_WRITE, "customers.add_customfielddefinition")
    return Status(201, definition_body(services.save_custom_field(data=_given(payload), actor=actor_for(request))))


@router.patch(
    "/custom-fields/{key}", response={200: dict[str, Any]}, summary="Change a custom field (its key and type are fixed)"
)
def update_custom_field(request: HttpRequest, key: str, payload: CustomFieldIn) -> dict[str, Any]:
    require(request, CUSTOMERS_WRITE, "customers.change_customfielddefinition")
    definition = CustomFieldDefinition.objects.filter(key=key).first()
    if definition is None:
        raise NotFound.single("key", "not_found", f"no custom field {key!r}")
    saved = services.save_custom_field(data=_given(payload), actor=actor_for(request), instance=definition)
    return definition_body(saved)


# Merges -------------------------------------------------------------------------------------


class MergeIn(Strict):
    merged_id: int = Field(description="the customer merged into this one (it stops existing)")
    reason: str = Field("manual merge", max_length=200)


class DecisionIn(Strict):
    decision: Literal["merge", "reject"]
    survivor_id: int | None = Field(None, description="which of the two to keep (default: the older)")


def suggestion_body(suggestion: MergeSuggestion) -> dict[str, Any]:
    return {
        "id": suggestion.pk,
        "first_id": suggestion.first_id,
        "second_id": suggestion.second_id,
        "reason": suggestion.reason,
        "score": str(suggestion.score),
        "status": suggestion.status,
        "created_at": suggestion.created_at,
    }


def merge_body(done: CustomerMerge) -> dict[str, Any]:
    return {
        "survivor_id": done.survivor_id,
        "merged_id": done.merged_customer_id,
        "reason": done.reason,
        "moved": done.moved,
        "created_at": done.created_at,
    }


@router.post(
    "/customers/{customer_id}/merge", response={200: MergeOut}, summary="Merge another customer into this one (audited)"
)
def merge_into(request: HttpRequest, customer_id: int, payload: MergeIn) -> dict[str, Any]:
    require(request, CUSTOMERS_WRITE, CHANGE, "customers.change_mergesuggestion")
    survivor = queries.visible_customer(request.user, customer_id)
    merged = queries.visible_customer(request.user, payload.merged_id)
    return merge_body(merge.merge_customers(survivor, merged, actor=actor_for(request), reason=payload.reason))


@router.get(
    "/merge-suggestions",
    response={200: SuggestionPage},
    summary="Suggested merges (weak matches) for a person to decide",
)
def list_suggestions(request: HttpRequest, status: str = "open", limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, CUSTOMERS_READ, "customers.view_mergesuggestion")
    if status not in MergeSuggestion.Status.values:
        raise InvalidInput.single("status", "invalid", f"one of: {', '.join(MergeSuggestion.Status.values)}")
    page = paginate(MergeSuggestion.objects.filter(status=status), limit=limit, offset=offset)
    return page_body(page, [suggestion_body(s) for s in page.items])


@router.post(
    "/merge-suggestions/scan",
    response={202: ScanSuggestionsOut},
    summary="Look for weak matches among all customers now (also done daily); new ones join the queue",
)
def scan_suggestions(request: HttpRequest) -> Status[dict[str, Any]]:
    from rapport.customers.tasks import scan_weak_matches

    require(request, CUSTOMERS_WRITE, "customers.change_mergesuggestion")
    enqueue(scan_weak_matches)
    return Status(202, {"queued": True})


@router.post(
    "/merge-suggestions/{suggestion_id}/decide", response={200: dict[str, Any]}, summary="Merge or reject a suggestion"
)
def decide_suggestion(request: HttpRequest, suggestion_id: int, payload: DecisionIn) -> dict[str, Any]:
    require(request, CUSTOMERS_WRITE, "customers.change_mergesuggestion")
    suggestion = MergeSuggestion.objects.filter(pk=suggestion_id).first()
    if suggestion is None:
        raise NotFound.single("suggestion_id", "not_found", f"no suggestion #{suggestion_id}")
    done = merge.decide_suggestion(
        suggestion, merge=payload.decision == "merge", actor=actor_for(request), survivor_id=payload.survivor_id
    )
    suggestion.refresh_from_db()
    return {"suggestion": suggestion_body(suggestion), "merge": merge_body(done) if done else None}
