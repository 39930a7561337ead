"""Console pages that belong to no single domain."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from rapport.console.home import home_panels


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The home dashboard: the panels the viewer's role may see, each with what it has to say."""
    panels = []
    for panel in home_panels(request.user):
        context = panel.context(request)
        if context is not None:
            panels.append((panel, context))
    return render(request, "console/home.html", {"nav": "home", "panels": panels})


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for ``/favicon.ico`` on every site; it is one of our static files."""
    return redirect(static("console/favicon.ico"), permanent=True)
