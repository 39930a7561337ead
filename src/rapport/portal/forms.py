"""Portal sign-in forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class SignInForm(forms.Form):
    identifier = forms.CharField(label=_("Phone number or email"), max_length=200)


class CodeForm(forms.Form):
    challenge = forms.CharField(widget=forms.HiddenInput)
    code = forms.CharField(label=_("Code"), max_length=6, min_length=6)
