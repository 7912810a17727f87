"""Error pages: a link whose token does not work, an address that leads nowhere or only takes a form, and a
form the CSRF check refused."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Scope, Send

from newsletter.tokens import InvalidToken
from newsletter.web.context import WebContext

log = logging.getLogger(__name__)


def token_error_handler(ctx: WebContext) -> Callable[[Request, Exception], HTMLResponse]:
    """The page for a link whose token is forged, expired or meant for another page: 404, or 410 if expired.

    Registered on the app for InvalidToken, so every token page just looks its reader up.
    """

    def handle(request: Request, exc: Exception) -> HTMLResponse:
        response = page(request, exc)
        # A personal address, as its working pages are (public.PersonalRoute): no cache keeps it.
        response.headers["Cache-Control"] = "no-store"
        return response

    def page(request: Request, exc: Exception) -> HTMLResponse:
        # The token's reason ("this link is not valid") opens the page's sentence: capitalised.
        reason = str(exc)[:1].upper() + str(exc)[1:]
        if isinstance(exc, InvalidToken) and exc.expired:
            # The sign-up form mails a fresh link: a new confirmation, or a manage link to a reader.
            return ctx.message(
                request,
                "This link does not work",
                f"{reason}. Enter your address on the sign-up page and we will email you a fresh link.",
                410,
                link={"url": "/", "text": "Get a fresh link"},
            )
        if isinstance(exc, InvalidToken) and exc.replaced:
            # The link was whole and genuine: no advice to check how it was copied.
            return ctx.message(
                request,
                "This link was replaced",
                f"{reason}. If it did not arrive, signing up again mails a new one.",
                410,
                link={"url": "/", "text": "Go to the sign-up page"},
            )
        return ctx.message(
            request,
            "This link does not work",
            f"{reason}. Links in our emails are personal and work as they are: check that the whole link "
            "was copied, or enter your address on the sign-up page and we will email you a fresh link.",
            404,
            link={"url": "/", "text": "Go to the sign-up page"},
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


# The pages whose forms post back to their own address; their tokens are URL-safe base64 and dots.
FORM_PAGE = re.compile(r"/(manage|confirm)/[A-Za-z0-9_\-.]+")


def form_page(path: str) -> str:
    """The page a refused form was on: a page of ours, whatever address the form was posted to.

    Any address takes a POST (and gets this page), so a cross-site form can choose it: echoing it
    would put a link such as //evil.example on our own origin.
    """
    if path.startswith("/admin"):
        return "/admin"
    return path if FORM_PAGE.fullmatch(path) else "/"


# A personal link's token is a credential (a manage token works for 90 days): logs name the page only.
PERSONAL_PATH = re.compile(r"(/(?:manage|confirm|unsubscribe|sent|feed)/)[^/]*")


def loggable(path: str) -> str:
    """The path for a log line: a personal link's token left out, unprintable characters escaped."""
    # Decoded from %0A, a newline would start a log line of the sender's choosing: repr escapes it.
    return repr(PERSONAL_PATH.sub(r"\1…", path))[1:-1]


def csrf_failed_sender(ctx: WebContext) -> Callable[[Scope, Send, int], Awaitable[None]]:
    """asgi-csrf's answer to a form it cannot check (no cookie, or a stale one): a page, not bare text."""

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    async def send_failed(scope: Scope, send: Send, message_id: int) -> None:
        path = str(scope.get("path", "/"))
        log.warning(
            "web: form refused on %s: its CSRF check failed (asgi-csrf reason %s)", loggable(path), message_id
        )
        again = form_page(path)
        response = ctx.message(
            Request(scope),
            "This form has expired",
            "The form could not be checked: the page was open a long time, or the browser did "
            "not keep its cookie. Nothing was changed. Open the page again and send the form once more.",
            403,
            link={"url": again, "text": "Open the page again"},
        )
        await response(scope, no_body, send)

    return send_failed
