"""The console's upload form: what to import, the file, its channel and an optional column mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from rapport.imports.mapping import parse_mapping
from rapport.imports.models import ImportJob
from rapport.imports.readers import CSV_SUFFIXES, XLSX_SUFFIXES, UnusableFile

# The permissions a user needs, besides imports.add_importjob, to import each kind.
KIND_PERMISSIONS = {
    ImportJob.Kind.CUSTOMERS: ["customers.add_customer", "customers.change_customer"],
    ImportJob.Kind.ORDERS: ["commerce.add_order", "commerce.change_order"],
    ImportJob.Kind.PRODUCTS: ["commerce.add_product", "commerce.change_product"],
    ImportJob.Kind.REFUNDS: ["commerce.add_refund", "commerce.change_order"],
}


def allowed_kinds(user: Any) -> list[tuple[str, Any]]:
    if not user.has_perm("imports.add_importjob"):
        return []
    return [(kind.value, kind.label) for kind in ImportJob.Kind if user.has_perms(KIND_PERMISSIONS[kind])]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(label=_("File (CSV or xlsx)"))
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
        suffix = Path(upload.name).suffix.lower()
        if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
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

    def clean_mapping(self) -> dict[str, str]:
        text = self.cleaned_data.get("mapping") or ""
        try:
            return parse_mapping(text.splitlines())
        except UnusableFile as exc:
            raise forms.ValidationError(str(exc)) from exc
