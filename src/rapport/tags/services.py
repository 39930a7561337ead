"""Tags' business rules: categories and tags, tagging one customer or a batch, automatic tags,
templates, sync endpoints. Every entry point (console, API, tasks, merge) calls these.

Each function owns its transaction and writes history (per customer, per change) and an audit
entry (per operation). Batches are set-based: one SQL statement per chunk, never a Python loop
over customers.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict, FieldError, InvalidInput
from rapport.core.jobs import enqueue
from rapport.customers import queries as customer_queries
from rapport.customers.models import Customer, MergedCustomer, Store
from rapport.segments.compiler import members
from rapport.segments.models import Segment
from rapport.segments.rules import clean_rule
from rapport.tags.changes import Change, delete_links, insert_links, record_changes
from rapport.tags.models import (
    CustomerTag,
    SyncDelivery,
    SyncEndpoint,
    Tag,
    TagBatch,
    TagCategory,
    TagHistory,
    TagSource,
    TagTemplate,
)
from rapport.tags.sync import adapters, schedule_delivery

logger = logging.getLogger(__name__)

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
ID_CHUNK = 5000
MAX_LISTED_IDS = 10_000
MAX_FILE_ROWS = 1_000_000
MAX_REPORT_ROWS = 1000
_SOURCE_OF_ACTOR = {Source.CONSOLE: TagSource.CONSOLE, Source.API: TagSource.API, Source.IMPORT: TagSource.IMPORT}


def source_of(actor: Actor) -> str:
    return _SOURCE_OF_ACTOR.get(actor.source, TagSource.SYSTEM)


def customers_in_scope(actor: Actor) -> QuerySet[Customer]:
    """The customers this actor may tag: a staff member's data scope, or everyone for jobs."""
    user = actor.staff_user
    return customer_queries.visible_customers(user) if user is not None else Customer.objects.all()


def _text(data: Mapping[str, Any], field: str, limit: int, errors: list[FieldError], *, required: bool) -> str:
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        errors.append(FieldError(field, "invalid", "expected text"))
        return ""
    text = (value or "").strip()
    if required and not text:
        errors.append(FieldError(field, "required", f"a {field} of 1 to {limit} characters"))
    elif len(text) > limit:
        errors.append(FieldError(field, "too_long", f"at most {limit} characters"))
    return text


def _unknown(data: Mapping[str, Any], allowed: Sequence[str]) -> list[FieldError]:
    return [FieldError(k, "unknown_field", "unknown field") for k in data if k not in allowed]


# Categories ------------------------------------------------------------------------------------

_CATEGORY_FIELDS = ("name", "description", "position")


def _clean_category(data: Mapping[str, Any], instance: TagCategory | None) -> dict[str, Any]:
    errors = _unknown(data, _CATEGORY_FIELDS)
    cleaned: dict[str, Any] = {}
    if instance is None or "name" in data:
        cleaned["name"] = _text(data, "name", 60, errors, required=True)
        clash = TagCategory.objects.filter(name=cleaned["name"]).exclude(pk=instance.pk if instance else 0)
        if cleaned["name"] and clash.exists():
            errors.append(FieldError("name", "duplicate", f"a category {cleaned['name']!r} exists"))
    if "description" in data:
        cleaned["description"] = _text(data, "description", 300, errors, required=False)
    if "position" in data:
        position = data["position"]
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 100_000:
            errors.append(FieldError("position", "invalid", "a whole number from 0 to 100000"))
        cleaned["position"] = position
    if errors:
        raise InvalidInput(errors)
    return cleaned


@transaction.atomic
def create_category(*, data: Mapping[str, Any], actor: Actor) -> TagCategory:
    category = TagCategory.objects.create(**_clean_category(data, None))
    record(actor, AuditEntry.Action.CREATE, obj=category, changes={"name": category.name})
    return category


@transaction.atomic
def update_category(category: TagCategory, *, data: Mapping[str, Any], actor: Actor) -> TagCategory:
    cleaned = _clean_category(data, category)
    for field, value in cleaned.items():
        setattr(category, field, value)
    category.save()
    record(actor, AuditEntry.Action.UPDATE, obj=category, changes={k: str(v) for k, v in cleaned.items()})
    return category


@transaction.atomic
def delete_category(category: TagCategory, *, actor: Actor) -> None:
    if category.tags.exists():
        raise Conflict.single("id", "in_use", "move or delete this category's tags first")
    record(actor, AuditEntry.Action.DELETE, obj=category, changes={"name": category.name})
    category.delete()


# Tags -------------------------------------------------------------------------------------------

_TAG_FIELDS = ("category", "name", "type", "description", "colour", "store", "rule", "is_active")


def referenced_tag_ids(rule: Any) -> set[int]:
    """The tags a (cleaned) rule's tag conditions name."""
    if not isinstance(rule, Mapping):
        return set()
    if "all" in rule or "any" in rule:
        return set().union(*(referenced_tag_ids(part) for part in rule.get("all", rule.get("any", []))))
    if "not" in rule:
        return referenced_tag_ids(rule["not"])
    if rule.get("type") == "tag":
        return {int(pk) for pk in rule.get("tags", [])}
    return set()


def _record_id(value: Any) -> int | None:
    """``value`` as a record id when it is one: an int, or a string of decimal digits short enough
    for the database (``"²".isdigit()`` is true, and 20 digits overflow a bigint)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) < 19:
        return int(value.strip())
    return None


def _category_of(value: Any) -> TagCategory | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        pk = _record_id(value)  # a number that no record can have finds none
        return None if pk is None else TagCategory.objects.filter(pk=pk).first()
    if isinstance(value, str):
        return TagCategory.objects.filter(name=value.strip()).first()
    return None


def store_of(value: Any) -> Store | None:
    pk = _record_id(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return None if pk is None else Store.objects.filter(pk=pk).first()
    if isinstance(value, str):
        text = value.strip()
        return Store.objects.filter(Q(code=text) | Q(pk=pk) if pk is not None else Q(code=text)).first()
    return None


def _clean_tag_display(data: Mapping[str, Any], cleaned: dict[str, Any], errors: list[FieldError]) -> None:
    """Colour, store and whether the tag is active, each only when given."""
    if "colour" in data:
        colour = data["colour"]
        if not isinstance(colour, str) or not COLOUR.match(colour.strip()):
            errors.append(FieldError("colour", "invalid", "a colour such as #1e8e3e"))
        else:
            cleaned["colour"] = colour.strip().lower()
    if "store" in data:
        if data["store"] in (None, ""):
            cleaned["store"] = None
        else:
            cleaned["store"] = store_of(data["store"])
            if cleaned["store"] is None:
                errors.append(FieldError("store", "not_found", f"no store {data['store']!r}"))
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors.append(FieldError("is_active", "invalid", "true or false"))
        cleaned["is_active"] = data["is_active"]


def _clean_tag_rule(
    data: Mapping[str, Any], instance: Tag | None, kind: Any, cleaned: dict[str, Any], errors: list[FieldError]
) -> None:
    """An automatic tag needs a rule that does not test the tag itself; a manual one has none."""
    if kind == Tag.Type.MANUAL and data.get("rule") not in (None, {}):
        errors.append(FieldError("rule", "invalid", "only automatic tags have a rule"))
    if kind != Tag.Type.AUTOMATIC or (instance is not None and "rule" not in data):
        return
    if data.get("rule") in (None, {}):
        errors.append(FieldError("rule", "required", "an automatic tag needs a rule"))
        return
    try:
        cleaned["rule"] = clean_rule(data["rule"], "rule")
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return
    if instance is not None and instance.pk in referenced_tag_ids(cleaned["rule"]):
        errors.append(FieldError("rule", "self_reference", "a tag's rule cannot test the tag itself"))


def _clean_tag(data: Mapping[str, Any], instance: Tag | None) -> dict[str, Any]:
    errors = _unknown(data, _TAG_FIELDS)
    cleaned: dict[str, Any] = {}
    if instance is None or "category" in data:
        category = _category_of(data.get("category"))
        if category is None:
            errors.append(FieldError("category", "not_found", f"no tag category {data.get('category')!r}"))
        cleaned["category"] = category
    if instance is None or "name" in data:
        cleaned["name"] = _text(data, "name", 60, errors, required=True)
        if "/" in cleaned["name"]:
            errors.append(FieldError("name", "invalid", "a tag name cannot contain /"))
    if instance is None or "type" in data:
        kind = data.get("type", Tag.Type.MANUAL) if instance is None else data.get("type")
        if kind not in Tag.Type.values:
            errors.append(FieldError("type", "invalid", f"one of: {', '.join(Tag.Type.values)}"))
        elif instance is not None and kind != instance.type:
            errors.append(FieldError("type", "immutable", "the type of a tag cannot change; create another tag"))
        cleaned["type"] = kind
    if "description" in data:
        cleaned["description"] = _text(data, "description", 300, errors, required=False)
    _clean_tag_display(data, cleaned, errors)
    kind = cleaned.get("type") or (instance.type if instance else Tag.Type.MANUAL)
    _clean_tag_rule(data, instance, kind, cleaned, errors)
    name = cleaned.get("name", getattr(instance, "name", ""))
    category = cleaned.get("category", getattr(instance, "category", None))
    if name and category is not None:
        clash = Tag.objects.filter(category=category, name=name).exclude(pk=instance.pk if instance else 0)
        if clash.exists():
            errors.append(FieldError("name", "duplicate", f"{category.name}/{name} exists"))
    if errors:
        raise InvalidInput(errors)
    return cleaned


def _save_tag(tag: Tag) -> None:
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError as exc:  # a concurrent writer took the name first
        raise Conflict.single("name", "duplicate", f"{tag.category.name}/{tag.name} exists") from exc


@transaction.atomic
def create_tag(*, data: Mapping[str, Any], actor: Actor) -> Tag:
    tag = Tag(**_clean_tag(data, None))
    _save_tag(tag)
    record(actor, AuditEntry.Action.CREATE, obj=tag, changes={"type": tag.type, "rule": tag.rule})
    if tag.is_automatic:
        _schedule_evaluation(tag)
    return tag


@transaction.atomic
def update_tag(tag: Tag, *, data: Mapping[str, Any], actor: Actor) -> Tag:
    cleaned = _clean_tag(data, tag)
    changes = {k: [str(getattr(tag, k)), str(v)] for k, v in cleaned.items() if getattr(tag, k) != v}
    for field, value in cleaned.items():
        setattr(tag, field, value)
    _save_tag(tag)
    record(actor, AuditEntry.Action.UPDATE, obj=tag, changes=changes)
    if tag.is_automatic and tag.is_active and ({"rule", "store", "is_active"} & set(changes)):
        _schedule_evaluation(tag)
    return tag


@transaction.atomic
def delete_tag(tag: Tag, *, actor: Actor) -> None:
    """Only a tag nobody ever held can go; a used one is deactivated instead (history stays)."""
    if TagHistory.objects.filter(tag=tag).exists() or CustomerTag.objects.filter(tag=tag).exists():
        raise Conflict.single("id", "in_use", "this tag has been used: deactivate it instead")
    for other in Tag.objects.filter(type=Tag.Type.AUTOMATIC).exclude(pk=tag.pk):
        if tag.pk in referenced_tag_ids(other.rule):
            raise Conflict.single("id", "in_use", f"the rule of {other} uses this tag")
    record(actor, AuditEntry.Action.DELETE, obj=tag, changes={"name": str(tag)})
    tag.delete()


def resolve_tags(refs: Any, *, path: str = "tags") -> list[Tag]:
    """Tags by id or ``"category/name"``, in the order given, without repeats."""
    if not isinstance(refs, list) or not refs:
        raise InvalidInput.single(path, "invalid", "a list of at least one tag id or category/name")
    errors: list[FieldError] = []
    found: dict[int, Tag] = {}
    for index, ref in enumerate(refs):
        tag: Tag | None = None
        pk = _record_id(ref)
        if pk is not None:
            tag = Tag.objects.select_related("category").filter(pk=pk).first()
        elif isinstance(ref, str) and "/" in ref:
            category, _sep, name = ref.partition("/")
            tag = (
                Tag.objects.select_related("category")
                .filter(category__name=category.strip(), name=name.strip())
                .first()
            )
        if tag is None:
            errors.append(FieldError(f"{path}.{index}", "not_found", f"no tag {ref!r}"))
        else:
            found.setdefault(tag.pk, tag)
    if errors:
        raise InvalidInput(errors)
    return list(found.values())


# Tagging one customer ---------------------------------------------------------------------------


def _check_manual(tags: Sequence[Tag], customer: Customer | None, *, path: str = "tags") -> None:
    errors: list[FieldError] = []
    for index, tag in enumerate(tags):
        if tag.is_automatic:
            errors.append(FieldError(f"{path}.{index}", "automatic", f"{tag} is kept by its rule"))
        elif not tag.is_active:
            errors.append(FieldError(f"{path}.{index}", "inactive", f"{tag} is not active"))
        elif customer is not None and tag.store_id is not None and customer.store_id != tag.store_id:
            errors.append(FieldError(f"{path}.{index}", "out_of_scope", f"{tag} is for another store's customers"))
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def add_tags(customer: Customer, tags: Sequence[Tag], *, actor: Actor) -> list[Tag]:
    """Give manual tags to a customer; a tag already held is left as it is. Answer those added."""
    _check_manual(tags, customer)
    change = Change(actor=actor, source=source_of(actor), at=timezone.now())
    one = Customer.objects.filter(pk=customer.pk)
    added = [tag for tag in tags if insert_links(tag, one, change)]
    if added:
        record(actor, AuditEntry.Action.UPDATE, obj=customer, changes={"tags_added": [str(t) for t in added]})
    return added


@transaction.atomic
def remove_tags(customer: Customer, tags: Sequence[Tag], *, actor: Actor) -> list[Tag]:
    """Take manual tags from a customer; a tag not held is ignored. Answer those removed."""
    errors = [
        FieldError(f"tags.{i}", "automatic", f"{tag} is kept by its rule")
        for i, tag in enumerate(tags)
        if tag.is_automatic
    ]
    if errors:
        raise InvalidInput(errors)
    change = Change(actor=actor, source=source_of(actor), at=timezone.now())
    one = Customer.objects.filter(pk=customer.pk)
    removed = [tag for tag in tags if delete_links(tag, one, change)]
    if removed:
        record(actor, AuditEntry.Action.UPDATE, obj=customer, changes={"tags_removed": [str(t) for t in removed]})
    return removed


# Batches -----------------------------------------------------------------------------------------


def _clean_action(action: Any) -> str:
    if action not in TagBatch.Action.values:
        raise InvalidInput.single("action", "invalid", f"one of: {', '.join(TagBatch.Action.values)}")
    return str(action)


def _within_tag_scope(tag: Tag, customers: QuerySet[Customer]) -> QuerySet[Customer]:
    return customers.filter(store_id=tag.store_id) if tag.store_id is not None else customers


def _apply_chunks(tag: Tag, action: str, chunks: Iterable[QuerySet[Customer]], change: Change) -> int:
    apply = insert_links if action == TagBatch.Action.ADD else delete_links
    return sum(len(apply(tag, chunk, change)) for chunk in chunks)


def _run_batch(
    tag: Tag,
    *,
    action: str,
    kind: str,
    params: Mapping[str, Any],
    matched: int,
    chunks: Iterable[QuerySet[Customer]],
    report: list[dict[str, Any]],
    actor: Actor,
) -> TagBatch:
    batch = TagBatch.objects.create(
        tag=tag,
        kind=kind,
        action=action,
        params=dict(params),
        matched=matched,
        report=report[:MAX_REPORT_ROWS],
        actor=actor.staff_user,
        actor_label=actor.describe()[:150],
    )
    change = Change(
        actor=actor, source=TagSource.BATCH, at=timezone.now(), batch=batch, reference=f"batch #{batch.pk} ({kind})"
    )
    batch.changed = _apply_chunks(tag, action, chunks, change)
    batch.save(update_fields=["changed"])
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=tag,
        changes={"batch": batch.pk, "kind": kind, "action": action, "matched": matched, "changed": batch.changed},
    )
    return batch


@transaction.atomic
def batch_filtered(tag: Tag, *, action: Any, filters: Mapping[str, Any], actor: Actor) -> TagBatch:
    """Tag (or untag) every customer the list filters select, within the actor's data scope."""
    action = _clean_action(action)
    _check_manual([tag], None, path="tag")
    customers = customer_queries.filter_customers(customers_in_scope(actor), filters)
    customers = _within_tag_scope(tag, Customer.objects.filter(pk__in=customers.values("pk")))
    return _run_batch(
        tag,
        action=action,
        kind=TagBatch.Kind.FILTER,
        params={"filters": {k: str(v) for k, v in filters.items()}},
        matched=customers.count(),
        chunks=[customers],
        report=[],
        actor=actor,
    )


@transaction.atomic
def batch_segment(
    tag: Tag,
    *,
    action: Any,
    actor: Actor,
    rule: Any = None,
    segment: Segment | None = None,
    now: dt.datetime | None = None,
) -> TagBatch:
    """Tag (or untag) the members of a saved segment or of a rule, within the actor's data scope."""
    action = _clean_action(action)
    _check_manual([tag], None, path="tag")
    cleaned = clean_rule(segment.rule if segment is not None else rule, "rule")
    customers = _within_tag_scope(tag, members(cleaned, now=now, base=customers_in_scope(actor)))
    params: dict[str, Any] = {"rule": cleaned}
    if segment is not None:
        params.update(segment=segment.pk, segment_name=segment.name)
    return _run_batch(
        tag,
        action=action,
        kind=TagBatch.Kind.SEGMENT,
        params=params,
        matched=customers.count(),
        chunks=[customers],
        report=[],
        actor=actor,
    )


@dataclass
class ResolvedIds:
    customer_ids: list[int]
    report: list[dict[str, Any]]
    rows: int


def _issue(line: int, value: str, code: str, message: str) -> dict[str, Any]:
    return {"line": line, "value": value[:200], "code": code, "message": message}


def _resolve_customer_ids(numeric: list[tuple[int, str, int]], scope: QuerySet[Customer]) -> dict[int, int]:
    """Line → visible customer id, for the lines that name a customer id (a merged one's survivor)."""
    found: dict[int, int] = {}
    for start in range(0, len(numeric), ID_CHUNK):
        chunk = numeric[start : start + ID_CHUNK]
        wanted = {pk for _line, _value, pk in chunk}
        survivors = dict(MergedCustomer.objects.filter(merged_id__in=wanted).values_list("merged_id", "survivor_id"))
        candidates = wanted | set(survivors.values())
        visible = set(scope.filter(pk__in=candidates).values_list("pk", flat=True))
        for line, _value, pk in chunk:
            resolved = pk if pk in visible else survivors.get(pk)
            if resolved is not None and resolved in visible:
                found[line] = resolved
    return found


def _resolve_identities(external: list[tuple[int, str, tuple[str, str]]], scope: QuerySet[Customer]) -> dict[int, int]:
    """Line → visible customer id, for the lines that name a ``channel:external_id`` identity."""
    found: dict[int, int] = {}
    for start in range(0, len(external), 500):
        ext_chunk = external[start : start + 500]
        owners = customer_queries.identity_owners({key for _line, _value, key in ext_chunk})
        visible = set(scope.filter(pk__in=set(owners.values())).values_list("pk", flat=True))
        for line, _value, key in ext_chunk:
            if owners.get(key) in visible:
                found[line] = owners[key]
    return found


def resolve_customer_refs(values: Iterable[tuple[int, str]], scope: QuerySet[Customer]) -> ResolvedIds:
    """Customer ids (a merged id resolves to its survivor) and ``channel:external_id`` values,
    looked up in chunks; unknown, invisible and malformed values are reported by line."""
    report: list[dict[str, Any]] = []
    numeric: list[tuple[int, str, int]] = []
    external: list[tuple[int, str, tuple[str, str]]] = []
    rows = 0
    for line, raw in values:
        value = (raw or "").strip()
        if not value:
            continue
        rows += 1
        if value.isdigit() and len(value) < 19:
            numeric.append((line, value, int(value)))
        elif ":" in value and all(part.strip() for part in value.split(":", 1)):
            channel, _sep, external_id = value.partition(":")
            external.append((line, value, (channel.strip(), external_id.strip())))
        else:
            report.append(_issue(line, value, "invalid", "neither a customer id nor channel:external_id"))
    found = {**_resolve_customer_ids(numeric, scope), **_resolve_identities(external, scope)}  # line → customer id
    for line, value, _pk in numeric:
        if line not in found:
            report.append(_issue(line, value, "not_found", "no such customer, or not one you can see"))
    for line, value, _key in external:
        if line not in found:
            report.append(_issue(line, value, "not_found", "no customer with this identity, or not one you can see"))
    report.sort(key=lambda issue: issue["line"])
    return ResolvedIds(customer_ids=sorted(set(found.values())), report=report, rows=rows)


def _id_chunks(tag: Tag, ids: list[int]) -> Iterator[QuerySet[Customer]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield _within_tag_scope(tag, Customer.objects.filter(pk__in=ids[start : start + ID_CHUNK]))


@transaction.atomic
def batch_ids(
    tag: Tag,
    *,
    action: Any,
    values: Sequence[tuple[int, str]],
    actor: Actor,
    kind: str = TagBatch.Kind.IDS,
    params: Mapping[str, Any] | None = None,
) -> TagBatch:
    """Tag (or untag) the customers a list names; each unknown value is reported by its line."""
    action = _clean_action(action)
    _check_manual([tag], None, path="tag")
    resolved = resolve_customer_refs(values, customers_in_scope(actor))
    if resolved.rows == 0:
        raise InvalidInput.single("ids", "required", "the list names no customer")
    in_scope = resolved.customer_ids
    if tag.store_id is not None:
        in_scope = sorted(
            pk
            for start in range(0, len(in_scope), ID_CHUNK)
            for pk in Customer.objects.filter(
                pk__in=in_scope[start : start + ID_CHUNK], store_id=tag.store_id
            ).values_list("pk", flat=True)
        )
        outside = len(resolved.customer_ids) - len(in_scope)
        if outside:
            resolved.report.append(
                _issue(0, "", "out_of_scope", f"{outside} customers belong to another store than {tag}'s")
            )
    return _run_batch(
        tag,
        action=action,
        kind=kind,
        params={**(params or {}), "rows": resolved.rows, "unknown": len(resolved.report)},
        matched=len(in_scope),
        chunks=_id_chunks(tag, in_scope),
        report=resolved.report,
        actor=actor,
    )


_ID_HEADERS = {"id", "customer_id", "customer", "customer id", "external_id", "identity", "客户id", "客户编号"}


def read_id_file(path: Path) -> list[tuple[int, str]]:
    """The id column of a CSV or xlsx file as ``(line, value)``: the column headed id,
    customer_id or external_id, else the first; a first line that is itself an id counts."""
    from rapport.imports.readers import UnusableFile, open_table

    try:
        table = open_table(path)
    except UnusableFile as exc:
        raise InvalidInput.single("file", "unusable", str(exc)) from exc
    with table:
        if table.total_rows > MAX_FILE_ROWS:
            raise InvalidInput.single("file", "too_many", f"at most {MAX_FILE_ROWS} rows per file")
        names = [h.lower() for h in table.header]
        column = next((i for i, name in enumerate(names) if name in _ID_HEADERS), 0)
        values: list[tuple[int, str]] = []
        first = table.header[column] if table.header else ""
        if first.isdigit() or (":" in first and first.lower() not in _ID_HEADERS):
            values.append((1, first))
        for line, row in table.rows():
            values.append((line, row[column] if column < len(row) else ""))
    return values


def batch_file(tag: Tag, *, action: Any, path: Path, file_name: str, actor: Actor) -> TagBatch:
    values = read_id_file(path)
    return batch_ids(
        tag, action=action, values=values, actor=actor, kind=TagBatch.Kind.FILE, params={"file": file_name}
    )


# Automatic tags ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    tag_id: int
    added: int
    removed: int


def _schedule_evaluation(tag: Tag) -> None:
    from rapport.tags.tasks import evaluate_tag_task

    enqueue(evaluate_tag_task, tag.pk)


@transaction.atomic
def evaluate_tag(tag: Tag, *, now: dt.datetime | None = None, customer_ids: Sequence[int] | None = None) -> Evaluation:
    """Bring an automatic tag's holders in line with its rule: everyone the rule selects holds
    it, nobody else does. ``customer_ids`` limits the work to those customers (incremental)."""
    locked = Tag.objects.select_for_update().select_related("category").get(pk=tag.pk)
    if not locked.is_automatic or not locked.is_active:
        return Evaluation(locked.pk, 0, 0)
    now = now or timezone.now()
    base = Customer.objects.all()
    if customer_ids is not None:
        base = base.filter(pk__in=list(customer_ids))
    selected = members(locked.rule or {}, now=now, base=_within_tag_scope(locked, base))
    holding = Exists(CustomerTag.objects.filter(tag=locked, customer=OuterRef("pk")))
    change = Change(
        actor=Actor.system(f"rule of {locked}"), source=TagSource.RULE, at=timezone.now(), reference=f"rule:{locked.pk}"
    )
    added = insert_links(locked, selected.filter(~holding), change)
    leaving = base.filter(holding).exclude(pk__in=selected.values("pk"))
    removed = delete_links(locked, leaving, change)
    if customer_ids is None:
        Tag.objects.filter(pk=locked.pk).update(last_evaluated_at=now)
    return Evaluation(locked.pk, len(added), len(removed))


def _in_dependency_order(tags: list[Tag]) -> list[Tag]:
    """Tags whose rules test other automatic tags come after those tags."""
    by_id = {t.pk: t for t in tags}
    ordered: list[Tag] = []
    done: set[int] = set()

    def visit(pk: int, path: set[int]) -> None:
        if pk in done or pk in path:
            return
        for dependency in sorted(referenced_tag_ids(by_id[pk].rule) & by_id.keys()):
            visit(dependency, path | {pk})
        done.add(pk)
        ordered.append(by_id[pk])

    for pk in sorted(by_id):
        visit(pk, set())
    return ordered


def _evaluate_many(customer_ids: Sequence[int] | None, now: dt.datetime | None) -> list[Evaluation]:
    tags = list(Tag.objects.filter(type=Tag.Type.AUTOMATIC, is_active=True))
    results = []
    for tag in _in_dependency_order(tags):
        try:
            results.append(evaluate_tag(tag, now=now, customer_ids=customer_ids))
        except InvalidInput:  # the rule no longer checks (a custom field went away): skip, say so
            logger.exception("automatic tag %s has a rule that no longer checks", tag.pk)
    return results


def evaluate_all(*, now: dt.datetime | None = None) -> list[Evaluation]:
    """Re-evaluate every active automatic tag (the scheduled job), one transaction per tag."""
    return _evaluate_many(None, now)


def reevaluate_for_customers(customer_ids: Iterable[int], *, now: dt.datetime | None = None) -> list[Evaluation]:
    """Re-evaluate every automatic tag for these customers only (after their events or orders)."""
    ids = sorted({int(pk) for pk in customer_ids})
    results: list[Evaluation] = []
    for start in range(0, len(ids), ID_CHUNK):
        results.extend(_evaluate_many(ids[start : start + ID_CHUNK], now))
    return results


def preview_count(rule: Any, *, actor: Actor, store: Store | None = None) -> int:
    """How many customers (in the actor's scope) a rule selects right now."""
    base = customers_in_scope(actor)
    if store is not None:
        base = base.filter(store=store)
    return members(clean_rule(rule, "rule"), base=base).count()


# Templates -----------------------------------------------------------------------------------


@transaction.atomic
def apply_template(template: TagTemplate, *, actor: Actor) -> dict[str, int]:
    """Create the template's categories and tags; those that exist already are left alone.

    A built-in template creates them named in the active language (:mod:`rapport.tags.builtin`).
    """
    from rapport.tags.builtin import localised

    created_categories = created_tags = existing = 0
    for position, spec in enumerate(localised(template).definition.get("categories", [])):
        category = TagCategory.objects.filter(name=spec["name"]).first()
        if category is None:
            category = create_category(
                data={"name": spec["name"], "description": spec.get("description", ""), "position": position},
                actor=actor,
            )
            created_categories += 1
        for tag_spec in spec.get("tags", []):
            if Tag.objects.filter(category=category, name=tag_spec["name"]).exists():
                existing += 1
                continue
            data = {k: v for k, v in tag_spec.items() if k in _TAG_FIELDS}
            create_tag(data={**data, "category": category.pk}, actor=actor)
            created_tags += 1
    result = {"categories_created": created_categories, "tags_created": created_tags, "tags_existing": existing}
    record(actor, AuditEntry.Action.CREATE, obj=template, changes=result)
    return result


# Sync endpoints ------------------------------------------------------------------------------

_ENDPOINT_FIELDS = ("name", "url", "adapter", "tags", "max_attempts", "is_active")


def _clean_endpoint(data: Mapping[str, Any], instance: SyncEndpoint | None) -> dict[str, Any]:
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    errors = _unknown(data, _ENDPOINT_FIELDS)
    cleaned: dict[str, Any] = {}
    if instance is None or "name" in data:
        cleaned["name"] = _text(data, "name", 100, errors, required=True)
        if SyncEndpoint.objects.filter(name=cleaned["name"]).exclude(pk=instance.pk if instance else 0).exists():
            errors.append(FieldError("name", "duplicate", f"an endpoint {cleaned['name']!r} exists"))
    if instance is None or "url" in data:
        url = _text(data, "url", 500, errors, required=True)
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            errors.append(FieldError("url", "invalid", "an http(s) URL"))
        cleaned["url"] = url
    if "adapter" in data or instance is None:
        adapter = data.get("adapter", "webhook")
        if adapter not in adapters():
            errors.append(FieldError("adapter", "invalid", f"one of: {', '.join(sorted(adapters()))}"))
        cleaned["adapter"] = adapter
    if "max_attempts" in data:
        attempts = data["max_attempts"]
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 30:
            errors.append(FieldError("max_attempts", "invalid", "a whole number from 1 to 30"))
        cleaned["max_attempts"] = attempts
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors.append(FieldError("is_active", "invalid", "true or false"))
        cleaned["is_active"] = data["is_active"]
    if data.get("tags"):
        try:
            cleaned["tags"] = resolve_tags(data["tags"])
        except InvalidInput as exc:
            errors.extend(exc.errors)
    elif "tags" in data:
        cleaned["tags"] = []
    if errors:
        raise InvalidInput(errors)
    return cleaned


@transaction.atomic
def create_endpoint(*, data: Mapping[str, Any], actor: Actor) -> tuple[SyncEndpoint, str]:
    """A new endpoint and its signing secret (shown once; the receiver keeps it)."""
    cleaned = _clean_endpoint(data, None)
    tags = cleaned.pop("tags", [])
    secret = secrets.token_urlsafe(32)
    endpoint = SyncEndpoint.objects.create(secret=secret, **cleaned)
    endpoint.tags.set(tags)
    record(actor, AuditEntry.Action.CREATE, obj=endpoint, changes={"url": endpoint.url, "adapter": endpoint.adapter})
    return endpoint, secret


@transaction.atomic
def update_endpoint(endpoint: SyncEndpoint, *, data: Mapping[str, Any], actor: Actor) -> SyncEndpoint:
    cleaned = _clean_endpoint(data, endpoint)
    tags = cleaned.pop("tags", None)
    for field, value in cleaned.items():
        setattr(endpoint, field, value)
    endpoint.save()
    if tags is not None:
        endpoint.tags.set(tags)
    record(actor, AuditEntry.Action.UPDATE, obj=endpoint, changes={k: str(v) for k, v in cleaned.items()})
    if endpoint.is_active:
        schedule_delivery()
    return endpoint


@transaction.atomic
def rotate_secret(endpoint: SyncEndpoint, *, actor: Actor) -> str:
    endpoint.secret = secrets.token_urlsafe(32)
    endpoint.save(update_fields=["secret"])
    record(actor, AuditEntry.Action.UPDATE, obj=endpoint, changes={"secret": "rotated"})
    return endpoint.secret


@transaction.atomic
def retry_deliveries(deliveries: QuerySet[SyncDelivery], *, actor: Actor) -> int:
    """Put dead letters back in the queue with a fresh set of attempts, due now."""
    dead = deliveries.filter(status=SyncDelivery.Status.DEAD)
    count = dead.update(status=SyncDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now())
    if count:
        record(
            actor,
            AuditEntry.Action.UPDATE,
            object_type="tags.syncdelivery",
            object_repr=f"{count} dead letters",
            changes={"retried": count},
        )
        schedule_delivery()
    return count


# Merge -------------------------------------------------------------------------------------


def move_tags(survivor: Customer, merged: Customer) -> int:
    """The survivor takes the merged customer's tags (once each) and their history.

    Runs inside the merge's transaction; answers how many tags the survivor gained.
    """
    held = CustomerTag.objects.filter(customer=survivor).values("tag_id")
    gaining = list(CustomerTag.objects.filter(customer=merged).exclude(tag_id__in=held).select_related("tag__category"))
    CustomerTag.objects.filter(pk__in=[link.pk for link in gaining]).update(customer=survivor)
    CustomerTag.objects.filter(customer=merged).delete()
    TagHistory.objects.filter(customer_id=merged.pk).update(customer_id=survivor.pk)
    change = Change(
        actor=Actor.system(f"merge of #{merged.pk}"),
        source=TagSource.MERGE,
        at=timezone.now(),
        reference=f"merge of #{merged.pk} into #{survivor.pk}",
    )
    for link in gaining:
        record_changes(link.tag, [survivor.pk], TagHistory.Action.ADDED, change)
    return len(gaining)
