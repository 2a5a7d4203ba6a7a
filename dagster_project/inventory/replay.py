"""Replay an inventory snapshot through the real azure-ai-ml SDK.

`ReplayTransport` is an azure-core `HttpTransport`: every client `MLClient` builds (ARM management
clients, the run-history data-plane client, the plain requests pipeline used for the workspace
discovery document) sends through it, and it answers each read request with the recorded body
from the snapshot folder, located by `snapshot_relpath`. The SDK's own paging, deserialization and
entity mapping run unchanged, so tests, the demo and an audit replay exercise the same code as a
live run. Nothing leaves the machine: a request without a recorded file is an error, never a
network call.

`ReplayCredential` is a stand-in `TokenCredential` for replay only (the bearer-token policy needs
*some* token). Live runs use `azure.identity.DefaultAzureCredential`.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from pathlib import Path, PurePosixPath
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.pipeline.transport import HttpResponse as LegacyHttpResponse
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import case_insensitive_dict

from dagster_project.inventory.shapes import body_problem
from dagster_project.inventory.snapshot_paths import snapshot_relpath

# A fixed expiry (2100-01-01) keeps replay deterministic and stops the bearer policy from ever
# asking for a refresh.
_REPLAY_TOKEN_EXPIRES_ON = 4_102_444_800
_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


class SnapshotRequestNotRecorded(LookupError):
    """The SDK asked for something the snapshot does not contain.

    Deliberately not an `azure.core.exceptions.AzureError`: azure-core's retry policy would retry
    those, and a missing file will not appear on the second try.
    """

    def __init__(self, method: str, url: str, expected_file: Path) -> None:
        self.method = method
        self.url = url
        self.expected_file = expected_file
        super().__init__(f"snapshot has no recording for {method} {url}: expected file {expected_file}")


class SnapshotFormatError(ValueError):
    """A recorded file exists but cannot be served: not JSON, an unmerged page with `nextLink`, or
    not the shape its path implies (`shapes.shape_problem`)."""


def _unsigned_jwt(claims: dict[str, str]) -> str:
    def segment(document: dict[str, str]) -> str:
        raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims)}."


class ReplayCredential:
    """A `TokenCredential` that hands out a fixed, meaningless token. **Replay only.**

    The azure-core bearer-token policy insists on a credential even when the transport never
    talks to Azure. This one returns the same fake token for every scope, so replay stays offline
    and deterministic. It must never be used against the real service (it would simply be
    rejected there); live runs use `azure.identity.DefaultAzureCredential`.
    """

    # An unsigned JWT (`alg: none`) whose only claims are a zero tenant id and the issuer
    # "aml-finops-replay": azure-ai-ml decodes the token (without verifying it) to append the
    # tenant id to studio URLs, and would log a warning per job if it were not a JWT.
    TOKEN = _unsigned_jwt({"iss": "aml-finops-replay", "tid": "00000000-0000-0000-0000-000000000000"})

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return AccessToken(self.TOKEN, _REPLAY_TOKEN_EXPIRES_ON)

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        return AccessTokenInfo(self.TOKEN, _REPLAY_TOKEN_EXPIRES_ON)


class _ReplayRestResponse(HttpResponseImpl):
    """An `azure.core.rest.HttpResponse` whose body is already in memory."""

    def __init__(self, request: Any, status_code: int, body: bytes) -> None:
        super().__init__(
            request=request,
            internal_response=io.BytesIO(body),
            status_code=status_code,
            reason="OK" if status_code == 200 else "Recorded",
            headers=case_insensitive_dict(_JSON_HEADERS),
            content_type=_JSON_HEADERS["Content-Type"],
            stream_download_generator=_no_streaming,
        )
        self._content = body


def _no_streaming(*args: Any, **kwargs: Any) -> Any:
    # Responses are served whole from memory; iter_bytes/iter_raw are satisfied by `_content`.
    raise TypeError("replayed responses are in memory and cannot be streamed")


class _ReplayLegacyResponse(LegacyHttpResponse):
    """The same response for clients still on the legacy `azure.core.pipeline.transport` requests."""

    def __init__(self, request: Any, status_code: int, body: bytes) -> None:
        super().__init__(request, None)
        self.status_code = status_code
        self.reason = "OK" if status_code == 200 else "Recorded"
        self.headers = case_insensitive_dict(_JSON_HEADERS)
        self.content_type = _JSON_HEADERS["Content-Type"]
        self._body = body

    def body(self) -> bytes:
        return self._body

    def stream_download(self, pipeline: Any, **kwargs: Any) -> Any:
        return iter([self._body])


def _is_legacy_request(request: Any) -> bool:
    from azure.core.pipeline.transport import HttpRequest as LegacyHttpRequest

    return isinstance(request, LegacyHttpRequest)


class ReplayTransport(HttpTransport):
    """Serve recorded response bodies from a snapshot folder to azure-core pipelines.

    * A read request (GET, or a POST list action) is answered with HTTP 200 and the bytes of
      ``<snapshot_dir>/<snapshot_relpath(method, url)>``.
    * A request with no recorded file raises `SnapshotRequestNotRecorded`, naming the expected
      file and the URL. Writes (PUT, PATCH, DELETE) raise `ValueError`: the tool is read-only.
    * A file whose list body still carries a ``nextLink`` raises `SnapshotFormatError`: the format
      merges all pages, and following the link would map back onto the same file forever.

    Files are read once and cached by path (a big snapshot replays tens of thousands of calls), and
    the cache is guarded by a lock, so one transport can be shared by many threads and clients.
    `load_body` is the single hook for serving bodies; a test can override it to replay a
    recording that kept its pages separate.
    """

    def __init__(self, snapshot_dir: Path) -> None:
        self.snapshot_dir = Path(snapshot_dir)
        self._cache: dict[PurePosixPath, bytes] = {}
        self._lock = threading.Lock()
        self._requests_served = 0

    # The transport holds no connections: opening and closing are no-ops, and `__exit__` must
    # not close anything because MLClient enters the shared transport once per client.
    def __enter__(self) -> ReplayTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    @property
    def requests_served(self) -> int:
        """How many requests this transport has answered (for progress and benchmarks)."""
        return self._requests_served

    def send(self, request: Any, **kwargs: Any) -> Any:
        method = request.method.upper()
        url = request.url
        relpath = snapshot_relpath(method, url)
        body = self.load_body(relpath, method, url)
        with self._lock:
            self._requests_served += 1
        if _is_legacy_request(request):
            return _ReplayLegacyResponse(request, 200, body)
        return _ReplayRestResponse(request, 200, body)

    def load_body(self, relpath: PurePosixPath, method: str, url: str) -> bytes:
        """The recorded bytes for `relpath` (cached), validated as a merged, JSON body."""
        with self._lock:
            cached = self._cache.get(relpath)
        if cached is not None:
            return cached
        path = self.snapshot_dir.joinpath(*relpath.parts)
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            raise SnapshotRequestNotRecorded(method, url, path) from None
        except IsADirectoryError:
            raise SnapshotRequestNotRecorded(method, url, path) from None
        self._check_merged(path, body, url)
        problem = body_problem(relpath, body)
        if problem:
            # Served as is, the SDK would page through a wrong-shaped list as an empty one.
            raise SnapshotFormatError(f"{path}: {problem}")
        with self._lock:
            # Another thread may have read the same file meanwhile; both read the same bytes.
            return self._cache.setdefault(relpath, body)

    @staticmethod
    def _check_merged(path: Path, body: bytes, url: str) -> None:
        # Only bodies that mention nextLink are parsed here; the SDK does the real deserializing.
        if b'"nextLink"' not in body:
            return
        try:
            document = json.loads(body)
        except json.JSONDecodeError as exc:
            raise SnapshotFormatError(f"{path}: not valid JSON ({exc})") from exc
        if isinstance(document, dict) and document.get("nextLink"):
            raise SnapshotFormatError(
                f"{path}: list body has a nextLink; aml-finops-snapshot/1 stores every page merged "
                'into one {"value": [...]} without nextLink'
            )
