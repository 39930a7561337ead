"""Console pages that belong to no single domain."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("customers:list")


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for ``/favicon.ico`` on every site; it is one of our static files."""
    return redirect(static("console/favicon.ico"), permanent=True)
