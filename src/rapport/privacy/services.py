"""Data-subject requests (PIPL/GDPR): receive, verify, fulfil, record.

* ``receive_request`` opens a request for a copy of the data (access) or for erasure (注销), with
  where it came from and the legal deadline; a member asking in the portal is verified by having
  signed in there, anyone else by a person who records what they checked (``verify_request``).
* ``fulfil_request`` starts a tracked background job that fulfils the request: the access archive
  (``prepare_archive``: every registered hook's rows as JSON and CSV, zipped as a stream into a
  file encrypted chunk by chunk with the personal-data keys (:mod:`rapport.privacy.archives`), so
  memory stays flat whatever the number of events; fetched, streamed too, by the verified member
  through a signed link that expires), or the erasure (``perform_erasure``): one transaction per
  customer, every hook anonymising its
  domain, identities kept only as blind-index tombstones, receivers of tag sync told by a signed
  event, and an audit entry of who erased whom under which request.

Every step writes the audit; a refused step changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core import jobs, shredding
from rapport.core.actor import Actor
from rapport.core.actor import Source as ActorSource
from rapport.core.errors import Conflict, FieldError, InvalidInput, NotFound
from rapport.core.models import OPEN_STATUSES
from rapport.core.public_url import public_url
from rapport.customers.models import Customer, CustomerMerge, Identity, MergedCustomer
from rapport.privacy import archives
from rapport.privacy.models import (
    IN_PROGRESS_STATUSES,
    OPEN_REQUEST_STATUSES,
    DataSubjectRequest,
    ErasedIdentity,
    RequestKind,
    RequestSource,
    RequestStatus,
    VerificationMethod,
)
from rapport.privacy.registry import Erasure, Rows, privacy_hooks

ARCHIVE_SALT = "rapport.privacy.archive"


def _choice(value: Any, choices: Any, field: str) -> str:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise InvalidInput(FieldError(field, "invalid", _("Choose one of: %(allowed)s.") % {"allowed": allowed}))
    return str(value)


def receive_request(
    *, customer: Customer, kind: str, source: str, actor: Actor, received_at: dt.datetime | None = None
) -> DataSubjectRequest:
    """Open a request; one open request of a kind per customer (a second one is the same request)."""
    kind = _choice(kind, RequestKind, "kind")
    source = _choice(source, RequestSource, "source")
    if source == RequestSource.PORTAL and actor.source != ActorSource.CUSTOMER:
        # a portal request is verified by the member's own sign-in: staff cannot claim one
        raise InvalidInput(
            FieldError("source", "portal_only", _("Only a member signed in to the portal makes a portal request."))
        )
    received_at = received_at or timezone.now()
    if received_at > timezone.now() + dt.timedelta(minutes=5):
        raise InvalidInput(FieldError("received_at", "future", _("A request cannot be received in the future.")))
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        open_one = DataSubjectRequest.objects.filter(
            customer=customer, kind=kind, status__in=OPEN_REQUEST_STATUSES
        ).first()
        if open_one is not None:
            raise Conflict(
                FieldError(
                    "kind",
                    "already_open",
                    _("Request #%(id)s of this kind is already open for this customer.") % {"id": open_one.pk},
                )
            )
        request = DataSubjectRequest.objects.create(
            customer=customer,
            kind=kind,
            source=source,
            received_at=received_at,
            due_at=received_at + dt.timedelta(days=settings.RAPPORT_PRIVACY_REQUEST_DAYS),
            received_by_label=actor.describe()[:150],
        )
        # a request's own entries hold nothing personal and are the record of what was done for the
        # person: not sealed with their key, so they outlive an erasure
        record(
            actor, AuditEntry.Action.CREATE, obj=request, object_repr=str(request), changes={"kind": kind}, sealed=False
        )
        if source == RequestSource.PORTAL:
            _mark_verified(
                request,
                method=VerificationMethod.PORTAL_SIGN_IN,
                note=_("Signed in to the member portal with a one-time code sent to the address on file."),
                actor=actor,
            )
    return request


def _mark_verified(request: DataSubjectRequest, *, method: str, note: str, actor: Actor) -> None:
    request.status = RequestStatus.VERIFIED
    request.verification_method = method
    request.verification_note = note
    request.verified_by_label = actor.describe()[:150]
    request.verified_at = timezone.now()
    request.save(
        update_fields=["status", "verification_method", "verification_note", "verified_by_label", "verified_at"]
    )
    record(actor, AuditEntry.Action.UPDATE, obj=request, changes={"verified": method}, sealed=False)


def _locked(request: DataSubjectRequest, *, allowed: tuple[str, ...]) -> DataSubjectRequest:
    locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status not in allowed:
        raise Conflict(
            FieldError(
                "status",
                "wrong_status",
                _("Request #%(id)s is %(status)s.") % {"id": locked.pk, "status": locked.get_status_display()},
            )
        )
    return locked


def verify_request(request: DataSubjectRequest, *, method: str, note: str, actor: Actor) -> DataSubjectRequest:
    """Record who checked the requester's identity, how, and what they saw."""
    method = _choice(method, VerificationMethod, "verification_method")
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            FieldError("verification_note", "required", _("Say what was checked (e.g. which document, which code)."))
        )
    if len(note) > 500:
        raise InvalidInput(FieldError("verification_note", "too_long", _("At most 500 characters.")))
    with transaction.atomic():
        locked = _locked(request, allowed=(RequestStatus.RECEIVED,))
        _mark_verified(locked, method=method, note=note, actor=actor)
    return locked


def reject_request(request: DataSubjectRequest, *, reason: str, actor: Actor) -> DataSubjectRequest:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(FieldError("reason", "required", _("Give the reason, for the record and the requester.")))
    with transaction.atomic():
        locked = _locked(request, allowed=OPEN_REQUEST_STATUSES)  # a copy being prepared is dropped
        locked.status = RequestStatus.REJECTED
        locked.rejection_reason = reason[:500]
        locked.completed_by_label = actor.describe()[:150]
        locked.completed_at = timezone.now()
        locked.save(update_fields=["status", "rejection_reason", "completed_by_label", "completed_at"])
        record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"rejected": locked.rejection_reason}, sealed=False)
    return locked


def fulfil_request(request: DataSubjectRequest, *, actor: Actor) -> DataSubjectRequest:
    """Start fulfilling a verified request as it asks: a tracked job erases the customer
    (:func:`perform_erasure`, status ``erasing``) or builds the copy (:func:`prepare_archive`,
    status ``preparing``) once this commits: a customer with years of events would hold a web
    worker for as long. The person who fulfilled it is recorded now; the job completes it."""
    with transaction.atomic():
        locked = _locked(request, allowed=(RequestStatus.VERIFIED, *IN_PROGRESS_STATUSES))
        if locked.status in IN_PROGRESS_STATUSES:
            _refuse_while_running(locked)
        locked.completed_by_label = actor.describe()[:150]
        if locked.kind == RequestKind.ACCESS:
            from rapport.privacy.tasks import build_access_archive  # the task calls back into this module

            locked.status = RequestStatus.PREPARING
            locked.archive_progress = 0
            locked.job = jobs.enqueue(build_access_archive, locked.pk)
        else:
            from rapport.privacy.tasks import erase_customer

            locked.status = RequestStatus.ERASING
            user = actor.staff_user
            locked.job = jobs.enqueue(erase_customer, locked.pk, user.pk if user else None, actor.source, actor.label)
        locked.save(update_fields=["status", "archive_progress", "job", "completed_by_label"])
        record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"fulfilling": locked.kind}, sealed=False)
    return locked


def _refuse_while_running(request: DataSubjectRequest) -> None:
    """A request being fulfilled is started again only when its job stopped (failed, stalled,
    cancelled, or its record pruned); a second click while it runs starts no second job."""
    job = request.job
    if job is not None and job.status in OPEN_STATUSES:
        raise Conflict(
            FieldError(
                "status",
                "wrong_status",
                _("Request #%(id)s is being fulfilled (job #%(job)s): wait for it, or cancel the job first.")
                % {"id": request.pk, "job": job.pk},
            )
        )


def preparation(request: DataSubjectRequest) -> dict[str, Any]:
    """How far the job fulfilling a request is: its status (``failed`` or ``stalled``: retry it as
    any job, ``POST /api/v1/jobs/{job_id}/retry`` or the jobs page) and its error; for a copy, the
    domains exported so far."""
    job = request.job
    body: dict[str, Any] = {
        "job_id": job.pk if job else None,
        "job_status": job.status if job else None,
        "error": job.error if job else "",
    }
    if request.kind == RequestKind.ACCESS:
        body |= {"domains_done": request.archive_progress, "domains_total": len(privacy_hooks())}
    return body


# Access -----------------------------------------------------------------------------------------


def prepare_archive(request_id: int) -> bool:
    """Build, encrypt and keep the copy a ``preparing`` request asks for; False when there is
    nothing to do (rejected or completed meanwhile, or the job was cancelled).

    Safe to run again after a dead worker: the copy is built afresh, outside any transaction (it
    reads every domain, which takes a while for a large customer), into a part file renamed when
    complete (a dead worker's part file is overwritten), and recorded only if the request still
    waits for it; otherwise the file goes."""
    request = DataSubjectRequest.objects.select_related("customer").filter(pk=request_id).first()
    if request is None or request.status != RequestStatus.PREPARING:
        return False
    waiting = DataSubjectRequest.objects.filter(pk=request_id, status=RequestStatus.PREPARING)

    def exported(domains: int) -> None:
        waiting.update(archive_progress=domains)

    name = f"request-{request_id}-{secrets.token_hex(8)}.zip.sealed"  # unguessable, one per build
    with archives.writing(archives.folder() / name) as sealed:
        write_archive(request.customer, sealed, progress=exported)
    with transaction.atomic():
        locked = DataSubjectRequest.objects.select_for_update().filter(pk=request_id).first()
        if locked is None or locked.status != RequestStatus.PREPARING or jobs.cancel_requested():
            archives.remove(name)  # cancelled: the request waits for a retry (or a new fulfilment)
            return False
        previous = locked.archive_file
        locked.archive_file = name
        locked.archive_expires_at = timezone.now() + dt.timedelta(days=settings.RAPPORT_PRIVACY_ARCHIVE_DAYS)
        locked.status = RequestStatus.COMPLETED
        locked.completed_at = timezone.now()
        locked.save()
        record(
            Actor.system("privacy"),
            AuditEntry.Action.UPDATE,
            obj=locked,
            changes={"completed": locked.kind},
            sealed=False,
        )
        transaction.on_commit(lambda: archives.remove(previous))
    return True


def export_customer(customer: Customer, *, progress: Callable[[int], None] | None = None) -> dict[str, Rows]:
    """Everything every app holds about the customer: ``{domain: {table: rows}}`` (a table's rows
    may be an iterator, read once); ``progress`` is told how many domains are done after each."""
    exported: dict[str, Rows] = {}
    for hook in privacy_hooks():
        exported[hook.name] = hook.export(customer)
        if progress is not None:
            progress(len(exported))
    return exported


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def _write_json(archive: zipfile.ZipFile, name: str, tables: Rows) -> dict[str, tuple[list[str], int]]:
    """``{table: [rows…], …}`` written row by row; each table's columns (every key seen) and count."""
    seen: dict[str, tuple[list[str], int]] = {}
    with archive.open(name, "w", force_zip64=True) as out:
        out.write(b"{")
        for number, (table, rows) in enumerate(tables.items()):
            columns: list[str] = []
            count = 0
            out.write(f"{',' if number else ''}\n  {json.dumps(table)}: [".encode())
            for row in rows:
                columns.extend(key for key in row if key not in columns)
                out.write(f"{',' if count else ''}\n    {json.dumps(row, ensure_ascii=False)}".encode())
                count += 1
            out.write(b"\n  ]")
            seen[table] = (columns, count)
        out.write(b"\n}\n")
    return seen


def _write_csv(archive: zipfile.ZipFile, name: str, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    with archive.open(name, "w", force_zip64=True) as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in columns])


def write_archive(
    customer: Customer, out: IO[bytes] | io.RawIOBase, *, progress: Callable[[int], None] | None = None
) -> None:
    """A zip of ``<domain>.json`` and ``<domain>/<table>.csv`` for every domain, plus a manifest,
    written to ``out`` as it is made: no domain's rows are held whole when its hook gives them as
    an iterator (events), and the zip is never in memory. Such a table is read twice, once for
    its JSON and once for its CSV (a zip writes one member at a time): a row added in between may
    be in one and not the other."""
    counts: dict[str, dict[str, int]] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number, hook in enumerate(privacy_hooks(), start=1):
            tables = hook.export(customer)
            seen = _write_json(archive, f"{hook.name}.json", tables)
            again: Rows | None = None
            for table, rows in tables.items():
                if not isinstance(rows, list):  # an iterator, used up: read it again
                    again = again if again is not None else hook.export(customer)
                    rows = again[table]
                _write_csv(archive, f"{hook.name}/{table}.csv", seen[table][0], rows)
            counts[hook.name] = {table: count for table, (_columns, count) in seen.items()}
            if progress is not None:
                progress(number)
        manifest = {
            "customer_id": customer.pk,
            "generated_at": timezone.now().isoformat(timespec="seconds"),
            "domains": counts,
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))


def archive_token(request: DataSubjectRequest) -> str:
    return signing.dumps({"request": request.pk, "customer": request.customer_id}, salt=ARCHIVE_SALT)


def archive_url(request: DataSubjectRequest) -> str:
    """The link the requester fetches the archive with: signed, and it works only for them, signed in."""
    path = reverse("privacy_portal:archive", args=[archive_token(request)])
    return f"{public_url()}{path}"


def open_archive(token: str, *, member: Customer, actor: Actor) -> tuple[DataSubjectRequest, Iterator[bytes]]:
    """The decrypted archive a signed link names, for the member it belongs to, before it expires,
    as chunks to stream (decrypted one by one as they are sent)."""
    max_age = dt.timedelta(days=settings.RAPPORT_PRIVACY_ARCHIVE_DAYS)
    try:
        payload = signing.loads(token, salt=ARCHIVE_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise NotFound(FieldError("link", "expired", _("This link has expired; ask for a new copy."))) from None
    except signing.BadSignature:
        raise NotFound(FieldError("link", "invalid", _("This link is not valid."))) from None
    if payload.get("customer") != member.pk:
        raise NotFound(FieldError("link", "invalid", _("This link is not valid.")))
    request = DataSubjectRequest.objects.filter(pk=payload.get("request"), customer=member).first()
    if request is None or not request.has_archive or request.archive_expires_at is None:
        raise NotFound(FieldError("link", "gone", _("This copy is no longer kept; ask for a new one.")))
    if request.archive_expires_at <= timezone.now():
        raise NotFound(FieldError("link", "expired", _("This link has expired; ask for a new copy.")))
    path = archives.path_of(request)
    if not path.is_file():
        raise NotFound(FieldError("link", "gone", _("This copy is no longer kept; ask for a new one.")))
    data = archives.read(path)
    DataSubjectRequest.objects.filter(pk=request.pk).update(archive_downloaded_at=timezone.now())
    record(actor, AuditEntry.Action.REVEAL, obj=request, changes={"archive": "downloaded"}, sealed=False)
    return request, data


def drop_expired_archives(*, now: dt.datetime | None = None) -> int:
    """Archives are kept only until their link expires (scheduled daily): their files go."""
    return drop_archives(
        DataSubjectRequest.objects.exclude(archive_file="").filter(archive_expires_at__lte=now or timezone.now())
    )


def drop_archives(requests: QuerySet[DataSubjectRequest]) -> int:
    """Delete these requests' archive files once the change commits; how many requests had one."""
    names = list(requests.exclude(archive_file="").values_list("archive_file", flat=True))
    dropped = DataSubjectRequest.objects.filter(archive_file__in=names).update(archive_file="")
    transaction.on_commit(lambda: archives.remove(*names))
    return dropped


# Erasure ---------------------------------------------------------------------------------------


def perform_erasure(request_id: int, *, actor: Actor) -> bool:
    """Erase the customer an ``erasing`` request names and complete it, in one transaction; False
    when there is nothing to do (rejected or completed meanwhile, or the job was cancelled).

    Safe to run again after a dead worker: a transaction that did not commit erased nothing, and
    one that did left the request completed."""
    with transaction.atomic():
        found = DataSubjectRequest.objects.select_for_update().select_related("customer")
        locked = found.filter(pk=request_id).first()
        if locked is None or locked.status != RequestStatus.ERASING or jobs.cancel_requested():
            return False
        locked.outcome = _erase(locked.customer, request=locked, actor=actor)
        locked.status = RequestStatus.COMPLETED
        locked.completed_at = timezone.now()
        locked.save()
        record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"completed": locked.kind}, sealed=False)
    return True


def audited_objects(customer_ids: list[int]) -> Q:
    """The audit's names for the customer and for every row that points at them."""
    condition = Q(object_type="customers.customer", object_id__in=[str(pk) for pk in customer_ids])
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Customer:
                pks = model._default_manager.filter(**{f"{field.name}_id__in": customer_ids}).values_list(
                    "pk", flat=True
                )
                label = f"{model._meta.app_label}.{model._meta.model_name}"
                condition |= Q(object_type=label, object_id__in=[str(pk) for pk in pks])
    return condition


def _scrub_audit(customer_ids: list[int]) -> int:
    """Audit entries about the person keep what happened, when and by whom; not their data.

    The request's own entries (received, verified by which method, fulfilled) hold nothing
    personal and are the record of the erasure: they stay as written."""
    about_person = AuditEntry.objects.filter(audited_objects(customer_ids)).exclude(
        object_type="privacy.datasubjectrequest"
    )
    # entries sealed with the customer's key stay as written (shredding the key erases them);
    # older plaintext ones are blanked
    about_person.exclude(object_repr__startswith=shredding.PREFIX).update(object_repr="", changes={"erased": True})
    return about_person.count()


def _announce_erasure(customer: Customer, request: DataSubjectRequest, actor: Actor) -> int:
    """One signed ``customer.erased`` event per tag-sync endpoint: receivers delete their copy."""
    from rapport.tags.models import SyncDelivery, SyncEndpoint
    from rapport.tags.sync import schedule_delivery

    now = timezone.now()
    endpoints = list(SyncEndpoint.objects.filter(is_active=True))
    SyncDelivery.objects.bulk_create(
        SyncDelivery(
            endpoint=endpoint,
            payload={
                "type": "customer.erased",
                "sequence": None,
                "occurred_at": now.isoformat(),
                "customer_id": customer.pk,
                "request": request.pk,
                "source": "privacy",
                "actor": actor.describe(),
            },
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in endpoints
    )
    if endpoints:
        schedule_delivery()
    return len(endpoints)


def _erase(customer: Customer, *, request: DataSubjectRequest, actor: Actor) -> dict[str, Any]:
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    held = Identity.objects.filter(customer=locked).order_by("pk")
    identities = tuple(held.values_list("channel", "external_id"))  # opened while the key exists
    merged_ids = tuple(MergedCustomer.objects.filter(survivor=locked).values_list("merged_id", flat=True))
    merged_ids += tuple(CustomerMerge.objects.filter(survivor=locked).values_list("merged_customer_id", flat=True))
    erasure = Erasure(actor=actor, request_id=request.pk, identities=identities, merged_ids=tuple(set(merged_ids)))
    ErasedIdentity.objects.bulk_create(
        [ErasedIdentity(identity_index=index) for index in held.values_list("external_index", flat=True)],
        ignore_conflicts=True,  # erased once before: the person registered again and asked again
    )
    audit_entries = _scrub_audit([locked.pk, *erasure.merged_ids])  # before the hooks delete rows
    outcome: dict[str, Any] = {hook.name: hook.erase(locked, erasure) for hook in privacy_hooks()}
    outcome["audit"] = {"entries": audit_entries}
    outcome["receivers"] = {"tag_sync_endpoints": _announce_erasure(locked, request, actor)}
    # crypto-shredding: the person's key goes, and with it every value sealed with it (history,
    # audit, and their copies in backups)
    outcome["audit"]["keys_shredded"] = shredding.shred([locked.pk, *erasure.merged_ids])
    record(
        actor,
        AuditEntry.Action.DELETE,
        object_type="customers.customer",
        object_id=locked.pk,
        object_repr=f"#{locked.pk}",
        changes={"erased": True, "request": request.pk},
        sealed=False,  # the record that an erasure happened outlives the person's key
    )
    return outcome
