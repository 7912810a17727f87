"""A gate in front of the CSRF layer: requests it cannot read get a clear 4xx instead of a crash.

asgi-csrf 0.11 raises on a non-ASCII token, on any multipart form (python-multipart no longer
takes its FileClass argument) and on a form body that is not UTF-8. Our forms are plain
urlencoded UTF-8, so anything else is refused here, before it reaches that layer.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    body = f"{status}: {reason}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
