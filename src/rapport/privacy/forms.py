"""Console forms for data-subject requests."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.privacy.models import RequestKind, RequestSource, VerificationMethod


class ReceiveForm(forms.Form):
    customer_id = forms.IntegerField(label=_("Customer number"), min_value=1)
    kind = forms.ChoiceField(label=_("Request"), choices=RequestKind.choices)
    # portal requests come from the member's own sign-in, never from staff
    source = forms.ChoiceField(
        label=_("Received through"), choices=[c for c in RequestSource.choices if c[0] != RequestSource.PORTAL]
    )


class VerifyForm(forms.Form):
    method = forms.ChoiceField(label=_("How the requester was verified"), choices=VerificationMethod.choices)
    note = forms.CharField(label=_("What was checked"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
