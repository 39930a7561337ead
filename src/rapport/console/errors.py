"""Error pages in the console's layout, and a log that keeps tracebacks for real failures.

Django renders ``400.html``, ``403.html`` and ``404.html`` with the request, so they show the
navigation of whoever is signed in. Its 500 handler renders without the request (the failure
may lie in whatever the context needs); :func:`server_error` tries with the request first and
falls back to the plain context when that fails too.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

logger = logging.getLogger(__name__)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    template = loader.get_template("500.html")
    try:
        return HttpResponseServerError(template.render(request=request))
    except Exception:  # the page must still be served when the signed-in context cannot be built
        logger.warning("500 page rendered without the request's context", exc_info=True)
        return HttpResponseServerError(template.render())


class ExpectedRefusalFilter(logging.Filter):
    """A refused permission is an answer, not a failure: log its one line without the traceback.

    Django logs every ``PermissionDenied`` with the exception attached; on a busy console that
    fills the log with tracebacks that hide the real 500s.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
