"""The console's upload form: what to import, the export it comes from, the file, its channel and an
optional column mapping; and the checks it shares with the API (file type, preset, mode per kind)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from rapport.imports import presets
from rapport.imports.kinds import EVENTS, HISTORY_ONLY
from rapport.imports.mapping import parse_mapping
from rapport.imports.models import ImportJob
from rapport.imports.readers import CSV_SUFFIXES, JSONL_SUFFIXES, XLSX_SUFFIXES, UnusableFile

# The permissions a user needs, besides imports.add_importjob, to import each kind.
KIND_PERMISSIONS = {
    ImportJob.Kind.CUSTOMERS: ["customers.add_customer", "customers.change_customer"],
    ImportJob.Kind.ORDERS: ["commerce.add_order", "commerce.change_order"],
    ImportJob.Kind.PRODUCTS: ["commerce.add_product", "commerce.change_product"],
    ImportJob.Kind.REFUNDS: ["commerce.add_refund", "commerce.change_order"],
    ImportJob.Kind.LOYALTY: ["loyalty.adjust_balance", "customers.change_customer"],
    ImportJob.Kind.EVENTS: ["events.add_event", "customers.change_customer"],
    ImportJob.Kind.STOCK: ["inventory.change_stockitem", "inventory.add_stockmovement"],
}


def file_problem(kind: str, name: str) -> str:
    """Why a file of this name cannot hold ``kind`` ("" when it can)."""
    suffix = Path(name).suffix.lower()
    if kind == EVENTS:
        return "" if suffix in JSONL_SUFFIXES else str(_("Events come as a .jsonl file (one JSON message a line)."))
    return "" if suffix in CSV_SUFFIXES | XLSX_SUFFIXES else str(_("Upload a .csv or .xlsx file."))


def kind_problems(kind: str, mode: str, channel: str, preset: str) -> list[tuple[str, str]]:
    """(field, reason) for a mode, preset or channel that does not fit the kind."""
    problems = []
    if mode == ImportJob.Mode.LIVE and kind in HISTORY_ONLY:
        problems.append(("mode", str(_("This kind is imported as history only."))))
    try:
        presets.check(preset, kind)
    except UnusableFile as exc:
        problems.append(("preset", str(exc)))
    if kind == EVENTS and channel:
        from rapport.events.history import source_for_import

        if source_for_import(channel) is None:
            problems.append(("channel", str(_("Name the event source the events came from."))))
    return problems


def allowed_kinds(user: Any) -> list[tuple[str, Any]]:
    if not user.has_perm("imports.add_importjob"):
        return []
    return [(kind.value, kind.label) for kind in ImportJob.Kind if user.has_perms(KIND_PERMISSIONS[kind])]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    preset = forms.ChoiceField(
        label=_("Exported from"),
        required=False,
        choices=[("", _("Any (columns matched by name)")), *presets.choices()],
        help_text=_("The platform whose export this is: its columns are mapped as it names them."),
    )
    file = forms.FileField(label=_("File (CSV, xlsx, or JSON Lines for events)"))
    channel = forms.CharField(
        label=_("Channel"),
        max_length=40,
        initial="import",
        help_text=_("The shop or system the ids in the file belong to, e.g. taobao or pos."),
    )
    mode = forms.ChoiceField(
        label=_("The orders in the file are"),
        choices=ImportJob.Mode.choices,
        initial=ImportJob.Mode.HISTORY,
        required=False,
        help_text=_(
            "History: past orders; no message, points or journey, and levels, tags and metrics are recomputed "
            "once. Live: each order as if it happened now, as the shop's API would send it."
        ),
    )
    mapping = forms.CharField(
        label=_("Column mapping (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "手机=phone\n姓名=name"}),
        help_text=_("One COLUMN=FIELD per line, for columns the importer does not recognise; FIELD - ignores it."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = allowed_kinds(user)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        problem = file_problem(self.data.get("kind", ""), upload.name)
        if problem:
            raise forms.ValidationError(problem)
        limit = settings.RAPPORT_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(_("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)})
        return upload

    def clean_mode(self) -> str:
        return self.cleaned_data.get("mode") or ImportJob.Mode.HISTORY

    def clean_channel(self) -> str:
        channel = self.cleaned_data["channel"].strip()
        if not channel:
            raise forms.ValidationError(_("Name the channel."))
        return channel

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "kind" in cleaned and "channel" in cleaned:
            problems = kind_problems(
                cleaned["kind"], cleaned.get("mode", ""), cleaned["channel"], cleaned.get("preset", "")
            )
            for name, message in problems:
                self.add_error(name, message)
        return cleaned

    def clean_mapping(self) -> dict[str, str]:
        text = self.cleaned_data.get("mapping") or ""
        try:
            return parse_mapping(text.splitlines())
        except UnusableFile as exc:
            raise forms.ValidationError(str(exc)) from exc
