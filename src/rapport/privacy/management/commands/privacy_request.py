"""``rapport privacy_request``: data-subject requests from the shell, as in the console and API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.core.actor import Actor, Source
from rapport.core.commands import command_error
from rapport.core.errors import DomainError
from rapport.customers.merge import resolve_customer_id
from rapport.customers.models import Customer
from rapport.privacy import services
from rapport.privacy.models import (
    OPEN_REQUEST_STATUSES,
    DataSubjectRequest,
    RequestKind,
    RequestSource,
    RequestStatus,
    VerificationMethod,
)


class Command(BaseCommand):
    help = "Receive, list, verify, reject and fulfil data-subject requests (a copy of the data, or erasure)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="the staff username the steps are recorded under")
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="open requests by deadline (or --status)")
        listing.add_argument("--status", choices=RequestStatus.values)
        receive = actions.add_parser("receive", help="open a request for a customer")
        receive.add_argument("customer_id", type=int)
        receive.add_argument("--kind", required=True, choices=RequestKind.values)
        receive.add_argument(
            "--source", required=True, choices=[v for v in RequestSource.values if v != RequestSource.PORTAL]
        )
        verify = actions.add_parser("verify", help="record who checked the requester, how and what")
        verify.add_argument("request_id", type=int)
        verify.add_argument("--method", required=True, choices=VerificationMethod.values)
        verify.add_argument("--note", required=True, help="what was checked")
        reject = actions.add_parser("reject", help="refuse a request")
        reject.add_argument("request_id", type=int)
        reject.add_argument("--reason", required=True)
        fulfil = actions.add_parser("fulfil", help="build the copy, or erase")
        fulfil.add_argument("request_id", type=int)
        fulfil.add_argument("--yes", action="store_true", help="confirm an erasure (it cannot be undone)")

    def _actor(self, username: str | None) -> Actor:
        if not username:
            return Actor(source=Source.CLI, label="privacy_request")
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"--user: no active staff user {username!r}")
        return Actor(user=user, source=Source.CLI)

    def _request(self, request_id: int) -> DataSubjectRequest:
        found = DataSubjectRequest.objects.filter(pk=request_id).first()
        if found is None:
            raise CommandError(f"request_id: no request #{request_id}")
        return found

    def _show(self, request: DataSubjectRequest) -> None:
        self.stdout.write(
            f"#{request.pk}  customer #{request.customer_id}  {request.kind:<8} {request.status:<9} "
            f"via {request.source:<6} due {request.due_at:%Y-%m-%d}"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["user"])
        action = options["action"]
        try:
            if action == "list":
                found = DataSubjectRequest.objects.order_by("due_at", "id")
                if options["status"]:
                    found = found.filter(status=options["status"])
                else:
                    found = found.filter(status__in=OPEN_REQUEST_STATUSES)
                for request in found:
                    self._show(request)
                return
            if action == "receive":
                customer_id = resolve_customer_id(options["customer_id"])
                customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
                if customer is None:
                    raise CommandError(f"customer_id: no customer #{options['customer_id']}")
                request = services.receive_request(
                    customer=customer, kind=options["kind"], source=options["source"], actor=actor
                )
            elif action == "verify":
                request = services.verify_request(
                    self._request(options["request_id"]), method=options["method"], note=options["note"], actor=actor
                )
            elif action == "reject":
                request = services.reject_request(
                    self._request(options["request_id"]), reason=options["reason"], actor=actor
                )
            else:
                request = self._request(options["request_id"])
                if request.kind == RequestKind.ERASURE and not options["yes"]:
                    raise CommandError("--yes: an erasure cannot be undone; confirm it with --yes")
                request = services.fulfil_request(request, actor=actor)
        except DomainError as exc:
            raise command_error(exc) from exc
        self._show(request)
        if request.status == RequestStatus.PREPARING and request.job_id:
            self.stdout.write(
                f"the copy is being prepared by job #{request.job_id}; "
                "the request's page and API give its link once it is ready"
            )
        if request.status == RequestStatus.ERASING and request.job_id:
            self.stdout.write(
                f"the personal data is being erased by job #{request.job_id}; "
                "`privacy_request list` shows the request completed once it is done"
            )
        if request.kind == RequestKind.ACCESS and request.has_archive:
            self.stdout.write(f"send the requester this link (it opens only for them): {services.archive_url(request)}")
