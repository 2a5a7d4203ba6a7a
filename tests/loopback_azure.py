"""A local stand-in for Azure Resource Manager and the Azure ML data plane, over real HTTP.

`LoopbackAzure` is an HTTP server on 127.0.0.1 that answers every read request with the body a
snapshot folder holds for it (located by the public `snapshot_relpath` rule), so a live listing
through the real azure-ai-ml SDK and `requests` gets what Azure answered when the snapshot was
recorded. Lists are served in pages of `page_size` items with a real `nextLink` (the SDK follows
it, the recorder merges the pages again). It checks every request but the public discovery
document carries the test credential's bearer token, and it can plant faults per file: an HTTP status, a body that is not JSON, a body of
the wrong shape, or extra fields (secrets for the redaction test).

`RetargetTransport` is the only test-specific piece in the SDK's path: an azure-core transport
wrapping the real `RequestsTransport` that sends each request to the loopback server instead of
the host in its URL (the SDK keeps its `https://management.azure.com/...` URLs, so its bearer
policy's HTTPS rule holds; the bytes travel over plain HTTP on 127.0.0.1).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import HttpTransport, RequestsTransport

from dagster_project.inventory.snapshot_paths import snapshot_relpath

TEST_TOKEN = "loopback-test-token"
_EXPIRES = 4_102_444_800  # 2100-01-01


class LoopbackCredential:
    """A `TokenCredential` for the loopback server: a fixed token it checks on every request."""

    def __init__(self) -> None:
        self.requests = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.requests += 1
        return AccessToken(TEST_TOKEN, _EXPIRES)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.requests += 1
        return AccessTokenInfo(TEST_TOKEN, _EXPIRES)


@dataclass
class Fault:
    """What to answer for one snapshot file instead of its body."""

    status: int = 200
    message: str = ""  # the error message of a non-200 answer
    body: bytes | None = None  # raw bytes to send (not JSON, wrong shape)
    edit: Callable[[Any], Any] | None = None  # change the parsed body (plant secrets)


@dataclass
class LoopbackAzure:
    snapshot_dir: Path
    page_size: int = 3
    faults: dict[PurePosixPath, Fault] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)
    unauthenticated: int = 0

    def start(self) -> LoopbackAzure:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep the test output clean
                return None

            def do_GET(self) -> None:
                owner._answer(self)

            def do_POST(self) -> None:
                owner._answer(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> LoopbackAzure:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering -----------------------------------------------------------------------------
    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("x-ms-request-id", "loopback")
        handler.end_headers()
        handler.wfile.write(body)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        original = handler.headers.get("x-loopback-original-url", "")
        self.seen.append((handler.command, original))
        # The workspace discovery document is public (azure-ai-ml fetches it without a token).
        public = urlsplit(original).path.rstrip("/").endswith("/discovery")
        if not public and handler.headers.get("Authorization") != f"Bearer {TEST_TOKEN}":
            self.unauthenticated += 1
            self._send(handler, 401, b'{"error": {"code": "AuthenticationFailed", "message": "no token"}}')
            return
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        try:
            relpath = snapshot_relpath(handler.command, original)
        except ValueError:
            self._send(handler, 400, b'{"error": {"code": "BadRequest", "message": "not a read"}}')
            return
        fault = self.faults.get(relpath)
        if fault is not None and fault.status != 200:
            message = {"error": {"code": "Forbidden" if fault.status == 403 else "Error",
                                 "message": fault.message or f"planted HTTP {fault.status}"}}
            self._send(handler, fault.status, json.dumps(message).encode())
            return
        if fault is not None and fault.body is not None:
            self._send(handler, 200, fault.body)
            return
        path = self.snapshot_dir.joinpath(*relpath.parts)
        if not path.is_file():
            self._send(handler, 404, b'{"error": {"code": "ResourceNotFound", "message": "not found"}}')
            return
        document = json.loads(path.read_bytes())
        if fault is not None and fault.edit is not None:
            document = fault.edit(document)
        self._send(handler, 200, json.dumps(self._page(document, original)).encode())

    def _page(self, document: Any, url: str) -> Any:
        """One page of a list body, with a nextLink to the next (absent on the last page)."""
        if not (isinstance(document, dict) and isinstance(document.get("value"), list)):
            return document
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        start = int(dict(query).get("$skipToken", "0"))
        items = document["value"]
        page = {**document, "value": items[start:start + self.page_size]}
        if start + self.page_size < len(items):
            rest = [(k, v) for k, v in query if k != "$skipToken"] + [("$skipToken", str(start + self.page_size))]
            page["nextLink"] = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), ""))
        return page


class RetargetTransport(HttpTransport):
    """Send every request to `http://127.0.0.1:<port>` over the real `RequestsTransport`, keeping
    the SDK's own URL in a header for the server (and restoring it on the request afterwards, so
    retries and the bearer policy see the URL the SDK built)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = RequestsTransport()
        self.sent = 0
        self._lock = threading.Lock()

    def __enter__(self) -> RetargetTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def send(self, request: Any, **kwargs: Any) -> Any:
        original = request.url
        parts = urlsplit(original)
        request.url = urlunsplit(("http", f"127.0.0.1:{self.port}", parts.path, parts.query, ""))
        request.headers["x-loopback-original-url"] = original
        kwargs.setdefault("proxies", {"http": None, "https": None})  # loopback only, never a proxy
        try:
            with self._lock:
                self.sent += 1
            return self.inner.send(request, **kwargs)
        finally:
            request.url = original
