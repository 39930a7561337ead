from django import forms
from django.utils.translation import gettext_lazy as _


class SourceForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False)
    identity_channel = forms.CharField(
        label=_("Identity channel"),
        required=False,
        help_text=_("Sources sharing a channel share user ids, e.g. web for the web shop and its app."),
    )
