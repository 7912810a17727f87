"""Reader pages: subscribe, confirm, manage, unsubscribe (RFC 8058), feed, and the live topic preview."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from newsletter.deliver import SendError, TransportUnusable
from newsletter.models import Subscriber
from newsletter.notices import deliver_notice, signup_notice
from newsletter.schedule import LEASE
from newsletter.signup import confirm, request_signup, subscriber_for, unsubscribe
from newsletter.subscribers import InvalidInput, normalize_email
from newsletter.tokens import MAX_AGE_S, InvalidToken
from newsletter.web import feed, topic_preview
from newsletter.web.arrival import arrival
from newsletter.web.context import PersonalRoute, WebContext, client_ip, limit_key, zone_names
from newsletter.web.forms import (
    PostedForm,
    form_defaults,
    form_shown,
    page_errors,
    posted_form,
    read_preferences,
    signup_again,
    too_many,
)

log = logging.getLogger(__name__)


# The sign-up's answer page reads the address from this cookie, never from its URL, where browser
# history and access logs would keep it. Only the /sent page is sent it.
SENT_COOKIE = "newsletter_sent"


def no_store(response: Response) -> Response:
    """`response`, marked for no cache to keep (it sets, or leads to, a page showing an address)."""
    response.headers["Cache-Control"] = "no-store"
    return response


def sent_redirect(token: str, secure: bool) -> Response:
    """The 303 to the plain /sent page, with the "sent" token in a cookie for that page alone."""
    response = RedirectResponse("/sent", status_code=303)
    response.set_cookie(
        SENT_COOKIE,
        token,
        max_age=MAX_AGE_S["sent"],
        path="/sent",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    return no_store(response)


def build_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    personal = APIRouter(include_in_schema=False, route_class=PersonalRoute)
    # Every page answers HEAD as its GET, without the body: monitors and link checkers send HEAD.
    get = partial(router.api_route, methods=["GET", "HEAD"])
    get_personal = partial(personal.api_route, methods=["GET", "HEAD"])
    svc = ctx.svc

    @get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        return ctx.page(
            request, "subscribe.html.j2", form=form_shown({}, ctx), zones=zone_names(), form_submitted=False
        )

    @router.post("/subscribe", response_class=HTMLResponse)
    async def subscribe(request: Request) -> Response:
        form = await posted_form(request)
        # Database and SMTP work would stall the event loop: it runs in the thread pool.
        return await run_in_threadpool(subscribe_form, request, form)

    def subscribe_form(request: Request, posted: PostedForm) -> Response:
        form = posted.values
        try:
            if posted.too_long is not None:
                raise posted.too_long
            email = normalize_email(form.get("email", ""))
            prefs = read_preferences(form, ctx)
        except InvalidInput as exc:
            return signup_again(ctx, request, form, 422, page_errors(exc))
        settings = svc.settings.web
        network = limit_key(client_ip(request))
        if not ctx.limits.allow(settings.subscribe_limit_ip, "subscribe-ip", network) or not (
            ctx.limits.allow(settings.subscribe_limit_address, "subscribe-address", email.casefold())
        ):
            log.warning("web: sign-up rate limit hit (ip %s)", client_ip(request))
            # The form again, as typed, with when to send it: not a dead end that loses it.
            wait = max(
                ctx.limits.wait_s(settings.subscribe_limit_ip, "subscribe-ip", network),
                ctx.limits.wait_s(settings.subscribe_limit_address, "subscribe-address", email.casefold()),
            )
            return too_many(ctx, request, form, wait)
        now = svc.clock()
        result = request_signup(svc.store, email, prefs, now)
        if result.mail is None:
            # Nothing to mail (the address hard-bounced), but the answer every other address gets.
            return sent_redirect(svc.signer().mint_address("sent", email), settings.secure_cookies)
        notice = signup_notice(ctx.env, svc.settings, svc.signer(), result.subscriber, result.mail, now)
        try:
            deliver_notice(svc.transport, svc.settings, notice)
        except (SendError, TransportUnusable) as exc:
            # The sign-up is kept; the same form, sent again later, mails the link.
            log.error("web: confirmation email to %s failed: %s", email, exc)
            if isinstance(exc, SendError) and exc.permanent:
                # Refused for good (5xx): trying again would not help; the address may be mistyped.
                why, status = "refused it. Check the address, or try another one.", 422
            else:
                why, status = "did not take it just now. Please try again in a few minutes.", 503
            # The form again, as typed, to correct the address or send it again.
            return signup_again(
                ctx, request, form, status, [f"Nothing was sent to {email}: our mail server {why}"]
            )
        # Post/redirect/get: reloading the answer must not send the form, and a second email, again.
        # The page shows the address as typed, never the stored one, and its token names no
        # subscriber: the same answer whether or not the address was known, so the form reveals nobody.
        return sent_redirect(svc.signer().mint_address("sent", email), settings.secure_cookies)

    @get_personal("/sent", response_class=HTMLResponse)
    def sent_page(request: Request) -> HTMLResponse:
        # The address comes from the cookie the form's answer set, so it never sits in a URL.
        try:
            email = svc.signer().address("sent", request.cookies.get(SENT_COOKIE, ""))
        except InvalidToken:
            # No cookie (opened directly, another browser, cookies off), an expired one, or one that is
            # not ours: nothing failed, this browser just cannot say which address the form was sent for.
            return ctx.message(
                request,
                "Check your inbox",
                "If you just signed up, we sent a message to the address you gave. Follow its link to "
                "confirm; it works for 48 hours. The address is not shown here because this page never "
                "puts it in its web address: only the browser that sent the form keeps it, for an hour. "
                "If nothing arrives, check your spam folder, or sign up again with the same address.",
                link={"url": "/", "text": "Go to the sign-up page"},
            )
        return ctx.message(
            request,
            "Check your inbox",
            f"We sent a message to {email}. Follow its link to confirm; it works for 48 hours. "
            "If you already subscribe, its link opens your settings instead.",
        )

    @get_personal("/sent/{token}")
    def old_sent_link(token: str) -> Response:
        # Where the form's answer used to be, with the address in the URL: a tab still open on one
        # reloads to the plain page, which shows the address while the token lasts (the cookie takes
        # the same token, so it expires when the link would have). Nothing mints these any more.
        try:
            svc.signer().address("sent", token)
        except InvalidToken:
            return RedirectResponse("/sent", status_code=303)
        return sent_redirect(token, svc.settings.web.secure_cookies)

    def no_longer_subscribing(request: Request, sub: Subscriber) -> HTMLResponse:
        """A confirmation link from before a bounce or an unsubscribe: it subscribes no one.

        It must not claim digests are coming; and whoever still holds that email (a forward, a
        shared mailbox) must not undo the reader's unsubscribe with it.
        """
        if sub.status == "bounced":
            # A new sign-up sends nothing to an address that bounced: only the operator can lift it.
            why = f"Our mail to {sub.email} bounced, so no digest is sent. If it works again, ask whoever"
            return ctx.message(
                request, "Mail to this address bounced", f"{why} runs this newsletter to add it back."
            )
        return ctx.message(
            request,
            "You are unsubscribed",
            f"{sub.email} unsubscribed after this link was sent, so it subscribes no one. To receive "
            "digests again, sign up again with this address and confirm from the new email.",
            link={"url": "/", "text": "Sign up again"},
        )

    @get_personal("/confirm/{token}", response_class=HTMLResponse)
    def confirm_page(request: Request, token: str) -> HTMLResponse:
        # A GET only shows the button: link scanners follow links, and must not subscribe anyone.
        sub = subscriber_for(svc.store, svc.signer(), "confirm", token)
        if sub.status in ("bounced", "unsubscribed"):
            return no_longer_subscribing(request, sub)
        if sub.status == "active":
            # Opened again after confirming: nothing left to press.
            return ctx.message(
                request,
                "You are subscribed",
                f"{sub.email} is already confirmed. {arrival(sub, svc.clock())}",
                link={"url": f"/manage/{svc.signer().mint('manage', sub)}", "text": "Change your topics"},
            )
        return ctx.page(request, "confirm.html.j2", email=sub.email, topics=sub.topics, excludes=sub.excludes)

    @personal.post("/confirm/{token}", response_class=HTMLResponse)
    def confirm_post(request: Request, token: str) -> HTMLResponse:
        sub = confirm(svc.store, svc.signer(), token, svc.clock())
        if sub.status in ("bounced", "unsubscribed"):
            return no_longer_subscribing(request, sub)
        manage = f"/manage/{svc.signer().mint('manage', sub)}"
        return ctx.message(
            request,
            "You are subscribed",
            arrival(sub, svc.clock()),
            link={"url": manage, "text": "Change your topics"},
        )

    def manage_view(
        request: Request, token: str, sub: Subscriber, status: int = 200, **extra: Any
    ) -> HTMLResponse:
        signer = svc.signer()
        # The emails the reader was sent, or that are on their way: not the days they were skipped.
        digests = [
            {"date": d.issue_date.isoformat(), "status": d.status, "papers": d.papers, "kind": d.kind}
            for d in svc.store.history.digests_for(sub.id, 5, emails_only=True)
        ]
        context: dict[str, Any] = {
            "email": sub.email,
            "sub_status": sub.status,
            "form": form_shown({}, ctx, sub),
            "zones": zone_names(),
            "digests": digests,
            "again": form_defaults(ctx, sub),  # the saved choices, for "Sign up again with these"
            "saved": False,
            "unsubscribe_url": f"/unsubscribe/{signer.mint('unsubscribe', sub)}",
            "feed_url": f"/feed/{signer.mint('feed', sub)}.xml",
        }
        context.update(extra)
        return ctx.page(request, "manage.html.j2", status, **context)

    @get_personal("/manage/{token}", response_class=HTMLResponse)
    def manage_page(request: Request, token: str, saved: str = "") -> HTMLResponse:
        sub = subscriber_for(svc.store, svc.signer(), "manage", token)
        # ?saved=1: where a successful save lands, so the notice shows and a reload sends nothing.
        return manage_view(request, token, sub, saved=saved == "1")

    @personal.post("/manage/{token}", response_class=HTMLResponse)
    async def manage_post(request: Request, token: str) -> Response:
        form = await posted_form(request)
        return await run_in_threadpool(manage_form, request, token, form)

    def manage_form(request: Request, token: str, posted: PostedForm) -> Response:
        sub = subscriber_for(svc.store, svc.signer(), "manage", token)
        form = posted.values
        try:
            if posted.too_long is not None:
                raise posted.too_long
            prefs = read_preferences(form, ctx, sub)
        except InvalidInput as exc:
            # Shown again at once, with what was typed: nothing was stored, so a reload changes nothing.
            shown = form_shown(form, ctx, sub)
            return manage_view(request, token, sub, 422, form=shown, errors=page_errors(exc))
        svc.store.subscribers.set_preferences(sub.id, prefs, svc.clock())
        # Post/redirect/get: reloading the page after Save must not ask to send the form again.
        return RedirectResponse(f"/manage/{token}?saved=1", status_code=303)

    @get_personal("/unsubscribe/{token}", response_class=HTMLResponse)
    def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
        sub = subscriber_for(svc.store, svc.signer(), "unsubscribe", token)
        return ctx.page(request, "unsubscribe.html.j2", email=sub.email, sub_status=sub.status)

    @personal.post("/unsubscribe/{token}", response_class=HTMLResponse)
    def unsubscribe_post(request: Request, token: str) -> HTMLResponse:
        # RFC 8058: a POST of List-Unsubscribe=One-Click, with no cookie and no CSRF token,
        # answered 200 without a redirect. The signed token is the authority.
        sub = unsubscribe(svc.store, svc.signer(), token, svc.clock())
        return ctx.message(
            request,
            "You are unsubscribed",
            f"No more emails will be sent to {sub.email}.",
            link={"url": "/", "text": "Unsubscribed by mistake? Sign up again"},
        )

    @get("/healthz")
    def healthz() -> JSONResponse:
        try:
            last = svc.store.papers.last_success()
            # Whether some `newsletter run` holds the scheduler lease; not which host, to the public.
            scheduler = svc.store.leases.holder(LEASE, svc.clock()) is not None
        except Exception as exc:
            # Anyone may ask: a driver's message names the database's host, port and role. The log keeps it.
            log.error("web: health check: database unreachable: %s", str(exc).splitlines()[0])
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        if not ctx.limits.reachable():
            return JSONResponse({"status": "error", "rate_limits": "store unreachable"}, status_code=503)
        return JSONResponse(
            {"status": "ok", "last_fetch": last.isoformat() if last else None, "scheduler_running": scheduler}
        )

    router.include_router(personal)
    router.include_router(topic_preview.build_router(ctx))
    router.include_router(feed.build_router(ctx))
    return router
