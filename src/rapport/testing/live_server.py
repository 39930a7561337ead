"""A real HTTP server for tests: Rapport's WSGI app under waitress on loopback, restartable.

pytest-django's ``live_server`` cannot be stopped and started again on the same port, which is
what a test of client retries needs: :class:`RestartableServer` serves the app from a
background thread; :meth:`~RestartableServer.stop` closes the listening socket and every open
connection at once (new connections are refused, requests in flight lose their answer even if
their transaction commits, as when a process is killed), and :meth:`~RestartableServer.start`
listens again on the same port. Use it with pytest-django's ``transactional_db`` so the
server's threads see what the test writes and the other way round.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from waitress import wasyncore  # type: ignore[import-untyped]
from waitress.server import BaseWSGIServer, create_server  # type: ignore[import-untyped]

HOST = "127.0.0.1"
_LOOP_TIMEOUT = 0.05


def _closing_connections(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Close the worker thread's database connections after each request.

    Waitress's worker threads end when the server stops; a connection they left open would keep
    the test database busy (PostgreSQL refuses to drop a database that has sessions).
    """

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return app(environ, start_response)
        finally:
            connections.close_all()

    return wrapped


class RestartableServer:
    """Rapport over HTTP on ``127.0.0.1``: a free port on the first start, the same one after."""

    def __init__(self, *, threads: int = 4, port: int = 0) -> None:
        self.threads = threads
        self.port = port
        self.requests = 0  # requests that reached the application, across restarts
        self._unanswered = 0
        self._app = _closing_connections(self._counting(WSGIHandler()))
        self._server: BaseWSGIServer | None = None
        self._map: dict[int, Any] = {}
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def _counting(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            with self._lock:
                self.requests += 1
                lose_answer = self._unanswered > 0
                if lose_answer:
                    self._unanswered -= 1
            if not lose_answer:
                return app(environ, start_response)
            # Handle the request completely (its transaction commits), then answer as a failing
            # proxy would: the client cannot tell that its events were stored.
            response = app(environ, lambda status, headers, exc_info=None: None)
            try:
                b"".join(response)
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"answer lost after commit"]

        return counted

    def fail_after_commit(self, requests: int) -> None:
        """Handle the next ``requests`` requests fully, then answer each with a 503."""
        with self._lock:
            self._unanswered = requests

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        self._map = {}
        self._stopping.clear()
        server = create_server(
            self._app,
            map=self._map,
            host=HOST,
            port=self.port,
            threads=self.threads,
            ident="rapport-test",
            clear_untrusted_proxy_headers=True,
        )
        assert isinstance(server, BaseWSGIServer)
        self._server = server
        self.port = int(server.effective_port)
        self._thread = threading.Thread(target=self._serve, name=f"rapport-server-{self.port}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set() and self._map:
            wasyncore.loop(timeout=_LOOP_TIMEOUT, use_poll=True, map=self._map, count=1)
        # Stopped: from here on the port refuses connections, and open ones are cut.
        wasyncore.close_all(self._map, ignore_all=True)

    def stop(self) -> None:
        """Stop listening and cut every connection, then let running requests finish unheard."""
        if self._thread is None or self._server is None:
            return
        self._stopping.set()
        self._thread.join(timeout=10)
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=10)
        self._thread = None
        self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> RestartableServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
