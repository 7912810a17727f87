"""Error pages: a link whose token does not work, and an address that leads nowhere."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from newsletter.tokens import InvalidToken
from newsletter.web.context import WebContext


def token_error_handler(ctx: WebContext) -> Callable[[Request, Exception], HTMLResponse]:
    """The page for a link whose token is forged, expired or meant for another page: 404, or 410 if expired.

    Registered on the app for InvalidToken, so every token page just looks its reader up.
    """

    def handle(request: Request, exc: Exception) -> HTMLResponse:
        if isinstance(exc, InvalidToken) and exc.expired:
            # The sign-up form mails a fresh link: a new confirmation, or a manage link to a reader.
            return ctx.message(
                request,
                "This link does not work",
                f"{exc}. Enter your address on the sign-up page and we will email you a fresh link.",
                410,
                link={"url": "/", "text": "Get a fresh link"},
            )
        return ctx.message(
            request, "This link does not work", f"{exc}. Links in our emails are personal.", 404
        )

    return handle


def not_found_handler(ctx: WebContext) -> Callable[[Request, Exception], Response]:
    """A page for an address that leads nowhere, or that only takes a form's POST (404 and 405).

    The JSON API keeps its JSON answer.
    """

    def handle(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if request.url.path.startswith("/api/"):
            headers = getattr(exc, "headers", None)
            return JSONResponse({"detail": getattr(exc, "detail", "Not Found")}, status, headers)
        if status == 405:
            # Typically a reload of, or a bookmark to, the address a form was sent to.
            response = ctx.message(
                request,
                "Nothing to show here",
                "This address only takes a form sent from another page, so there is nothing to show.",
                405,
                link={"url": "/", "text": "Go to the sign-up page"},
            )
            response.headers.update(getattr(exc, "headers", None) or {"Allow": "POST"})
            return response
        return ctx.message(
            request,
            "Page not found",
            "There is no page at this address. Links in our emails work as they are: check that "
            "the whole link was copied.",
            404,
            link={"url": "/", "text": "Go to the sign-up page"},
        )

    return handle
