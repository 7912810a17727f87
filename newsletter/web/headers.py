"""Protective headers on every response: pages, feeds, JSON, redirects and the gates' own refusals."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter.web.context import SECURITY_HEADERS

# What is not a page (a feed, JSON, a redirect, a plain-text refusal) runs nothing and is framed by no one.
# A page's own policy (SECURITY_HEADERS, set as it is rendered) is kept.
NOT_A_PAGE = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}
# For browsers older than frame-ancestors.
NO_FRAMING = {"X-Frame-Options": "DENY"}
# A year, once the public address is https: a browser that has seen it never tries plain http again.
HSTS = {"Strict-Transport-Security": "max-age=31536000"}


class SecurityHeaders:
    """ASGI middleware, outermost: adds each protective header a response does not already carry."""

    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.headers = {**NOT_A_PAGE, **NO_FRAMING, **(HSTS if https else {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
