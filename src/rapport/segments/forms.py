"""The builder page's form: name, description and the rule the builder writes as JSON."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.segments.models import Segment


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    snapshot_schedule = forms.BooleanField(label=_("Snapshot daily"), required=False, initial=True)
    rule = forms.CharField(widget=forms.HiddenInput, required=False)

    @classmethod
    def for_segment(cls, segment: Segment | None, data: Any = None) -> SegmentForm:
        initial = (
            {
                "name": segment.name,
                "description": segment.description,
                "snapshot_schedule": segment.snapshot_schedule,
                "rule": json.dumps(segment.rule, ensure_ascii=False),
            }
            if segment
            else {"rule": json.dumps({"all": []}), "snapshot_schedule": True}
        )
        return cls(data, initial=initial)

    def clean_rule(self) -> Any:
        raw = self.cleaned_data.get("rule") or ""
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(_("The rule could not be read.")) from exc

    def segment_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
