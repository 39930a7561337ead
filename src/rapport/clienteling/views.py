"""The task list on a phone (overdue, today, later), a task with its completion form, a new task
for a customer, recording a contact, bulk creation for a segment and completion per person and
store (managers)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.audit.services import record_reveal
from rapport.clienteling import alerts, contacts, queries, reminders, services, sharing
from rapport.clienteling.models import ContactKind, ContactPurpose, Outcome, Priority, Recurrence, TaskKind, TaskStatus
from rapport.core.errors import DomainError
from rapport.core.requests import console_actor, error_text
from rapport.customers.queries import visible_customer
from rapport.segments.models import Segment

CHOICES = {
    "kinds": TaskKind.choices,
    "priorities": Priority.choices,
    "recurrences": Recurrence.choices,
    "outcomes": [c for c in Outcome.choices if c[0]],
}


@login_required
@permission_required("clienteling.view_task", raise_exception=True)
def my_tasks(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    end_of_today = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    open_tasks = services.visible_tasks(request.user).filter(status=TaskStatus.OPEN)
    show_all = request.GET.get("all") == "1" and request.user.has_perm(services.MANAGE_PERMISSION)
    if not show_all:
        open_tasks = open_tasks.filter(services.assigned_to(request.user))
    context = {
        "nav": "tasks",
        "show_all": show_all,
        "overdue": open_tasks.filter(due_at__lt=now)[:100],
        "today": open_tasks.filter(due_at__gte=now, due_at__lte=end_of_today)[:100],
        "later": open_tasks.filter(due_at__gt=end_of_today)[:50],
    }
    return render(request, "clienteling/my_tasks.html", context)


@login_required
@permission_required("clienteling.view_task", raise_exception=True)
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        task = services.get_task(request.user, pk)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("clienteling:my_tasks")
    context = {
        "nav": "tasks",
        "task": task,
        "marketing_refused": services.marketing_refused(task),
        "last_contacted": queries.last_contacted([task.customer_id]).get(task.customer_id),
        **CHOICES,
    }
    return render(request, "clienteling/task.html", context)


@require_POST
@login_required
@permission_required("clienteling.change_task", raise_exception=True)
def complete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        task = services.get_task(request.user, pk)
        _done, following = services.complete_task(
            task,
            outcome=request.POST.get("outcome", ""),
            notes=request.POST.get("notes", ""),
            actor=console_actor(request),
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("clienteling:task", pk=pk)
    if following is not None:
        messages.success(
            request,
            _("Done. The next one is due %(due)s.")
            % {"due": timezone.localtime(following.due_at).strftime("%Y-%m-%d %H:%M")},
        )
    else:
        messages.success(request, _("Done."))
    return redirect("clienteling:my_tasks")


@login_required
@permission_required("clienteling.add_task", raise_exception=True)
def new_task(request: HttpRequest, customer_id: int) -> HttpResponse:
    try:
        customer = visible_customer(request.user, customer_id)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("clienteling:my_tasks")
    if request.method == "POST":
        try:
            task = services.create_task(customer, request.POST, actor=console_actor(request))
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Task created."))
            return redirect("clienteling:task", pk=task.pk)
    default_due = timezone.localtime(timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    context = {"nav": "tasks", "customer": customer, "data": request.POST, "default_due": default_due, **CHOICES}
    return render(request, "clienteling/new_task.html", context)


@login_required
@permission_required("clienteling.add_contact", raise_exception=True)
def new_contact(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Record a call, message, visit or appointment; marketing is offered only where consent allows."""
    try:
        customer = visible_customer(request.user, customer_id)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("clienteling:my_tasks")
    if request.method == "POST":
        try:
            contacts.record_contact(customer, request.POST, actor=console_actor(request))
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Contact recorded."))
            return redirect("clienteling:contact", customer_id=customer.pk)
    refused = contacts.marketing_refused(customer.pk)
    context = {
        "nav": "tasks",
        "customer": customer,
        "data": request.POST,
        "kinds": contacts.RECORDED_KINDS,
        "purposes": ContactPurpose.choices,
        "refused": [label for value, label in ContactKind.choices if value in refused],
        "marketing_open": [label for value, label in contacts.RECORDED_KINDS if value not in refused],
        "last_contacted": queries.last_contacted([customer.pk]).get(customer.pk),
        "recent": queries.contacts_of(customer.pk)[:10],
        "shared_links": [(link, sharing.tracked_url(link)) for link in queries.shared_links_of(customer.pk)[:10]],
        "new_link": request.GET.get("shared", ""),
    }
    return render(request, "clienteling/new_contact.html", context)


@require_POST
@login_required
@permission_required("clienteling.add_sharedlink", raise_exception=True)
def share(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Make a tracked link to a product or page for this customer; the contact page shows it to copy."""
    try:
        customer = visible_customer(request.user, customer_id)
        link = sharing.share_link(customer, request.POST, actor=console_actor(request))
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("clienteling:contact", customer_id=customer_id)
    messages.success(request, _("Link ready: copy it and send it to the customer."))
    return redirect(f"{reverse('clienteling:contact', args=[customer.pk])}?shared={link.pk}#shared-links")


def open_shared_link(request: HttpRequest, token: str) -> HttpResponse:
    """A customer opens a shared link (no sign-in): recorded, then on to the shared page."""
    link = sharing.open_link(token)
    if link is None:
        raise Http404
    return HttpResponseRedirect(sharing.destination(link))


@login_required
@permission_required(services.MANAGE_PERMISSION, raise_exception=True)
def bulk(request: HttpRequest) -> HttpResponse:
    segments = Segment.objects.filter(is_template=False).order_by("name")
    if request.method == "POST":
        segment = segments.filter(pk=request.POST.get("segment") or 0).first()
        if segment is None:
            messages.error(request, _("Choose a segment."))
        else:
            try:
                created = services.bulk_for_segment(segment, request.POST, actor=console_actor(request))
            except DomainError as exc:
                messages.error(request, error_text(exc))
            else:
                messages.success(request, _("%(count)s tasks created.") % {"count": created})
                return redirect("clienteling:completion")
    default_due = timezone.localtime(timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    context = {"nav": "tasks", "segments": segments[:200], "data": request.POST, "default_due": default_due, **CHOICES}
    return render(request, "clienteling/bulk.html", context)


@login_required
@permission_required(services.MANAGE_PERMISSION, raise_exception=True)
def completion(request: HttpRequest) -> HttpResponse:
    stats = services.completion(services.visible_tasks(request.user))
    return render(request, "clienteling/completion.html", {"nav": "tasks", **stats})


class _DialRedirect(HttpResponseRedirect):
    allowed_schemes = ["tel"]


@login_required
@permission_required("clienteling.view_task", raise_exception=True)
def my_reminders(request: HttpRequest) -> HttpResponse:
    """Today's care reminders of the signed-in owner, each with its message and one-tap actions."""
    today = timezone.localdate()
    items = list(reminders.todays_list(request.user, today)[:200])
    last = queries.last_contacted([r.customer_id for r in items])
    cards = [{"reminder": r, "message": reminders.suggested_message(r), "last": last.get(r.customer_id)} for r in items]
    context = {"nav": "tasks", "cards": cards, "today": today, "by_email": alerts.wants_email(request.user)}
    return render(request, "clienteling/reminders.html", context)


@require_POST
@login_required
@permission_required("clienteling.view_task", raise_exception=True)
def alert_settings(request: HttpRequest) -> HttpResponse:
    """Whether the owner also gets alerts about their customers by email (in the app they always do)."""
    alerts.set_email_alerts(request.user, by_email=request.POST.get("by_email") == "1")
    messages.success(request, _("Saved."))
    return redirect("clienteling:reminders")


@require_POST
@login_required
@permission_required("clienteling.view_task", raise_exception=True)
def reminder_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Done, snooze (days), or call: the phone number is revealed (audited) only to dial it."""
    if action not in ("call", "done", "snooze"):
        raise Http404
    try:
        reminder = reminders.get_reminder(request.user, pk)
        if action == "call":
            if not request.user.has_perm("customers.reveal_pii") or not reminder.customer.phone:
                raise PermissionDenied
            record_reveal(console_actor(request), reminder.customer, fields=["phone"])
            return _DialRedirect(f"tel:{reminder.customer.phone}")
        if action == "done":
            reminders.mark_done(reminder, actor=console_actor(request))
            messages.success(request, _("Done."))
        elif action == "snooze":
            reminders.snooze(
                reminder, days=request.POST.get("days", "1"), today=timezone.localdate(), actor=console_actor(request)
            )
            messages.success(request, _("Snoozed."))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("clienteling:reminders")
