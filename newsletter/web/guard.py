"""Gates in front of the app: the API's token and body caps, and requests the CSRF layer cannot read.

asgi-csrf 0.11 raises on a non-ASCII token, on any multipart form (python-multipart no longer
takes its FileClass argument) and on a form body that is not UTF-8. Our forms are plain
urlencoded UTF-8, so anything else is refused here, before it reaches that layer.

In front of that, ApiGate checks an /api request's bearer token and body size before any body is read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from urllib.parse import parse_qs

from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter.web.admin import check_bearer
from newsletter.web.context import WebContext

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 1_000_000


class EveryPathBut:
    """A set of every path except the exempt ones, for asgi-csrf's `always_protect` (a membership test)."""

    def __init__(self, exempt: Callable[[str], bool]) -> None:
        self.exempt = exempt

    def __contains__(self, path: object) -> bool:
        return not self.exempt(str(path))


class RequestGate:
    """ASGI middleware: vets the headers and form body of every state-changing request."""

    def __init__(self, app: ASGIApp, exempt: Callable[[str], bool]) -> None:
        self.app = app
        # Paths the CSRF layer never parses (one-click unsubscribe, the bearer-token API).
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if not headers.get(b"x-csrftoken", b"").isascii():
            await _reject(send, 400, "the x-csrftoken header must be ASCII")
            return
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if content_type == b"multipart/form-data" and not self.exempt(str(scope.get("path", ""))):
            await _reject(send, 415, "send forms as application/x-www-form-urlencoded")
            return
        if content_type != b"application/x-www-form-urlencoded":
            await self.app(scope, receive, send)
            return
        body, messages = await _read(receive)
        if body is None:
            await _reject(send, 413, "the form is too large")
            return
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            await _reject(send, 400, "the form is not UTF-8")
            return
        if not all(value.isascii() for value in fields.get("csrftoken", [])):
            await _reject(send, 400, "the csrftoken field must be ASCII")
            return
        await self.app(scope, _replay(messages, receive), send)


async def _read(receive: Receive) -> tuple[bytes | None, list[Message]]:
    """The whole body (None if over the limit) and the messages that carried it, for replay."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        if size > MAX_FORM_BYTES:
            return None, messages
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return b"".join(m.get("body", b"") for m in messages), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _reject(send: Send, status: int, reason: str) -> None:
    await _answer(send, status, f"{status}: {reason}\n".encode(), b"text/plain; charset=utf-8")


RawHeaders = list[tuple[bytes, bytes]]


async def _answer(
    send: Send, status: int, body: bytes, content_type: bytes, headers: RawHeaders | None = None
) -> None:
    """A whole response, sent by a gate before the app sees the request."""
    start = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


# The admin JSON API: its token and its body size are checked from the headers, before any of the body
# is read (FastAPI would read and parse a whole body before a dependency could look at the token).
API_BODY_LIMIT = 64 * 1024
MBOX_BODY_LIMIT = 5_000_000  # POST /api/bounces takes a whole mbox, as `newsletter bounces import` does
BODY_LIMITS = {"/api/bounces": MBOX_BODY_LIMIT}
UNAUTHENTICATED = "a valid bearer token is required"
LOCKED_OUT = "too many wrong tokens from this address; try later"


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes its cap; the app answers it as a JSON 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body is over {limit} bytes")


class ApiGate:
    """ASGI middleware in front of everything else, for /api/ paths.

    For a request to one of the API's operations: a client IP that used up `[web] login_limit_ip` on
    wrong tokens gets 429 (the right token too, so a guess that hits learns nothing); a missing or wrong
    token gets 401, and a wrong one counts against that limit. Any /api/ body is capped (5 MB for
    POST /api/bounces, 64 KB elsewhere): a Content-Length over the cap is a 413 at once, and a streamed
    body is counted as it arrives and cut off with a 413 when it passes the cap.
    """

    def __init__(self, app: ASGIApp, ctx: WebContext, operations: Sequence[BaseRoute]) -> None:
        self.app = app
        self.ctx = ctx
        self.operations = operations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        # Only the API's own operations need the token: the public topic preview and the schema do not,
        # and an unknown address or method keeps its 404 or 405.
        if any(route.matches(scope)[0] == Match.FULL for route in self.operations):
            # The limit store may be a Redis: a blocking call, off the event loop.
            refusal = await run_in_threadpool(self.refusal, scope)
            if refusal is not None:
                await _reject_json(send, *refusal)
                return
        limit = BODY_LIMITS.get(path, API_BODY_LIMIT)
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _reject_json(send, 413, BodyTooLarge(limit).detail)
            return
        await self.app(scope, _capped(receive, limit), send)

    def refusal(self, scope: Scope) -> tuple[int, str, list[tuple[bytes, bytes]]] | None:
        """The answer to a request that may not reach the API (None if it may): 429 or 401."""
        web = self.ctx.svc.settings.web
        client = scope.get("client")
        ip = str(client[0]) if client else "unknown"
        if self.ctx.locked_out(ip):
            return 429, LOCKED_OUT, []
        # As FastAPI's HTTPBearer reads the header: "<scheme> <credentials>", the scheme in any case.
        scheme, credentials = get_authorization_scheme_param(Headers(scope=scope).get("authorization"))
        offered = credentials if scheme.lower() == "bearer" and credentials else None
        if offered is not None and check_bearer(web.admin_token, f"Bearer {offered}"):
            return None
        if offered is not None:  # a guess, not a forgotten header
            log.warning("web: wrong API token from %s", ip)
            self.ctx.wrong_guess(ip)
        return 401, UNAUTHENTICATED, [(b"www-authenticate", b"Bearer")]


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return capped


async def _reject_json(send: Send, status: int, detail: str, headers: RawHeaders | None = None) -> None:
    # The API's own error shape, as FastAPI answers an HTTPException.
    body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
    await _answer(send, status, body, b"application/json", headers)
