"""The admin pages: sign-in, dashboard, an issue's page, and the preview of any reader's issue."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from functools import partial
from typing import Any
from urllib.parse import urlencode

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from newsletter.collect import run_fetch
from newsletter.schedule import LEASE
from newsletter.subscribers import InvalidInput
from newsletter.web.context import PersonalRoute, WebContext, client_ip
from newsletter.web.forms import form_error, posted_or_empty
from newsletter.web.preview import (
    SkipRefused,
    build_preview,
    is_frozen,
    parse_issue_date,
    send_copy,
    skip_paper,
    skipped_from,
)

log = logging.getLogger(__name__)


def check_password(password_hash: str, password: str) -> bool:
    """True if `password` matches the argon2 hash from the environment."""
    if not password_hash or not password:
        return False
    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_bearer(expected: str, header: str | None) -> bool:
    """True if the Authorization header carries the configured API token."""
    if not expected or not header or not header.startswith("Bearer "):
        return False
    # Bytes: compare_digest refuses str with non-ASCII characters, which anyone can send.
    offered = header.removeprefix("Bearer ").strip().encode("utf-8", "surrogateescape")
    return secrets.compare_digest(offered, expected.encode("utf-8"))


SESSIONS = "admin_sessions"  # the meta counter that signing out bumps, ending every admin session


def admin_key(signer_key: str, password_hash: str) -> str:
    """What ties a session to the admin password: a new password hash ends every session."""
    return hmac.new(signer_key.encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def sign_in(ctx: WebContext, request: Request) -> None:
    """Start an admin session: tied to the password and to the sessions counter."""
    svc = ctx.svc
    request.session.clear()
    request.session["admin"] = {
        "key": admin_key(svc.signer().derived_key("admin"), svc.settings.web.admin_password_hash),
        "epoch": svc.store.counter(SESSIONS),
    }


def is_admin(ctx: WebContext, request: Request) -> bool:
    """A session from a sign-in with the current password, since the last sign-out anywhere."""
    session = request.session.get("admin")
    if not isinstance(session, dict):
        return False
    svc = ctx.svc
    current = admin_key(svc.signer().derived_key("admin"), svc.settings.web.admin_password_hash)
    return (
        bool(svc.settings.web.admin_password_hash)
        and hmac.compare_digest(str(session.get("key", "")), current)
        and session.get("epoch") == svc.store.counter(SESSIONS)
    )


def with_notice(request: Request, notice: str, url: str) -> RedirectResponse:
    """Redirect after an admin action, with what it did kept in the signed session for the next page.

    Not in the address: a crafted link would show any text it liked as if the app had said it.
    """
    request.session["notice"] = notice[:200]
    return RedirectResponse(url, status_code=303)


def take_notice(request: Request) -> str:
    """The notice the last admin action left, once: a reload no longer shows it."""
    return str(request.session.pop("notice", ""))


def build_router(ctx: WebContext) -> APIRouter:
    # Not stored: after signing out, Back on a shared computer must not show readers' addresses.
    router = APIRouter(include_in_schema=False, route_class=PersonalRoute)
    # Every page answers HEAD as its GET, without the body: monitors and link checkers send HEAD.
    get = partial(router.api_route, methods=["GET", "HEAD"])
    svc = ctx.svc

    def login_redirect() -> RedirectResponse:
        return RedirectResponse("/admin/login", status_code=303)

    @get("/admin/login", response_class=HTMLResponse)
    def login_page(request: Request) -> HTMLResponse:
        return ctx.page(request, "admin/login.html.j2", enabled=bool(svc.settings.web.admin_password_hash))

    @router.post("/admin/login", response_model=None)
    async def login(request: Request) -> Response:
        form = await posted_or_empty(request)
        # Checking an argon2 hash takes tens of milliseconds: not on the event loop.
        return await run_in_threadpool(login_form, request, form)

    def login_form(request: Request, form: dict[str, str]) -> Response:
        enabled = bool(svc.settings.web.admin_password_hash)
        ip = client_ip(request)
        if ctx.locked_out(ip):
            return ctx.page(
                request,
                "admin/login.html.j2",
                429,
                enabled=enabled,
                errors=["Too many wrong passwords from this address. Try again later."],
            )
        if not check_password(svc.settings.web.admin_password_hash, form.get("password", "")):
            log.warning("web: failed admin sign-in from %s", ip)
            ctx.wrong_guess(ip)
            return ctx.page(request, "admin/login.html.j2", 401, enabled=enabled, errors=["Wrong password."])
        sign_in(ctx, request)
        return RedirectResponse("/admin", status_code=303)

    @router.post("/admin/logout", response_model=None)
    def logout(request: Request) -> Response:
        # Every session, not only this browser's: a copied cookie must die with it.
        if is_admin(ctx, request):
            svc.store.bump_counter(SESSIONS)
        request.session.clear()
        return login_redirect()

    @get("/admin", response_model=None)
    def dashboard(request: Request) -> Response:
        if not is_admin(ctx, request):
            return login_redirect()
        return ctx.page(
            request,
            "admin/dashboard.html.j2",
            counts={s: svc.store.subscribers.counts_by_status().get(s, 0) for s in STATUS_ORDER},
            issues=svc.store.history.recent_issues(10),
            scheduler=svc.store.leases.holder(LEASE, svc.clock()),
            fetches=svc.store.papers.recent_fetches(10),
            notice=take_notice(request),
        )

    @get("/admin/issue/{day}", response_model=None)
    def issue_page(request: Request, day: str) -> Response:
        """One issue's ledger counts, and who failed or waits for a retry, with the relay's reply."""
        if not is_admin(ctx, request):
            return login_redirect()
        try:
            # The preview's rule: YYYY-MM-DD, today or tomorrow, within ten years.
            issue_date = parse_issue_date(day, ctx)
        except InvalidInput as exc:
            # 422, as the preview answers a bad date; 404 is kept for a real day without an issue.
            return ctx.message(request, "Not a date", f"{exc.message[:1].upper()}{exc.message[1:]}.", 422)
        record = svc.store.issues.find_issue(issue_date)
        if record is None:
            return ctx.message(request, "No such issue", f"No issue of {issue_date} has started.", 404)
        counts = svc.store.history.counts(record)
        history = svc.store.history
        troubles = {s: history.troubles(record.id, s, ISSUE_PAGE_ROWS) for s in ("failed", "deferred")}
        return ctx.page(request, "admin/issue.html.j2", record=record, counts=counts, troubles=troubles)

    @get("/admin/preview", response_model=None)
    def preview(request: Request, email: str = "", topics: str = "", date: str = "") -> Response:
        if not is_admin(ctx, request):
            return login_redirect()
        context: dict[str, Any] = {
            # Suggestions only: any reader can be typed in, however many there are.
            "subscribers": svc.store.subscribers.recent_emails(SUGGESTED_READERS),
            "chosen_email": email,
            "adhoc_topics": topics,
            "rendered": None,
            "picks": [],
            "kind": "",
            "note": None,
            "no_email": None,
            "admin_email": svc.settings.delivery.admin_email,
            "notice": take_notice(request),
            "frozen": False,
            "skipped": [],
            "date_refused": False,
        }
        try:
            issue_date = parse_issue_date(date, ctx)
            context.update(
                issue_date=issue_date.isoformat(),
                frozen=is_frozen(ctx, issue_date),
                skipped=skipped_from(ctx, issue_date),
            )
            if email or topics.strip():
                result = build_preview(ctx, issue_date, email, topics)
                plan, note = result.plan, result.note
                context.update(rendered=result.rendered, picks=list(plan.picks), kind=plan.kind, note=note)
                if result.rendered is None:
                    context.update(
                        no_email=result.edition.no_email_reason(),
                        pool=len(result.edition.pool),
                        pruned=result.edition.pruned,
                        went_out=result.edition.issue.frozen_at if result.edition.issue else None,
                    )
        except InvalidInput as exc:
            if "issue_date" not in context:
                # The date itself was refused: kept in its field to correct, named by no heading.
                context.update(issue_date=date[:40], date_refused=True)
            return ctx.page(request, "admin/preview.html.j2", 422, errors=[form_error(exc)], **context)
        return ctx.page(request, "admin/preview.html.j2", **context)

    @router.post("/admin/preview/send", response_model=None)
    async def send_preview(request: Request) -> Response:
        form = await posted_or_empty(request)
        return await run_in_threadpool(send_preview_form, request, form)

    def send_preview_form(request: Request, form: dict[str, str]) -> Response:
        if not is_admin(ctx, request):
            return login_redirect()
        to = svc.settings.delivery.admin_email
        query = {
            "email": form.get("email", ""),
            "topics": form.get("topics", ""),
            "date": form.get("date", ""),
        }
        if not to:
            notice = "Set [delivery] admin_email to receive previews."
        else:
            try:
                result = build_preview(
                    ctx, parse_issue_date(form.get("date", ""), ctx), query["email"], query["topics"]
                )
            except InvalidInput as exc:
                notice = str(exc)
            else:
                notice = send_copy(ctx, to, result, query)
        return with_notice(request, notice, "/admin/preview?" + urlencode(query))

    @router.post("/admin/skip", response_model=None)
    async def skip(request: Request) -> Response:
        form = await posted_or_empty(request)
        return await run_in_threadpool(skip_form, request, form)

    def skip_form(request: Request, form: dict[str, str]) -> Response:
        if not is_admin(ctx, request):
            return login_redirect()
        try:
            issue_date = parse_issue_date(form.get("date", ""), ctx)
        except InvalidInput as exc:
            return ctx.message(request, "Cannot skip", str(exc), 422)
        try:
            notice = skip_paper(ctx, issue_date, form.get("arxiv_id", ""), undo=form.get("undo") == "1")
        except SkipRefused as exc:
            notice = str(exc)  # nothing changed; the preview says why, as the API does
        # Back to the preview the button was on: the same reader (or topics) and date.
        back = {key: form.get(key, "") for key in ("email", "topics", "date")}
        return with_notice(request, notice, "/admin/preview?" + urlencode(back))

    @router.post("/admin/fetch", response_model=None)
    def refetch(request: Request) -> Response:
        if not is_admin(ctx, request):
            return login_redirect()
        outcome = run_fetch(svc)
        return with_notice(request, outcome.line(), "/admin")

    return router


STATUS_ORDER = ("active", "pending", "unsubscribed", "bounced")
SUGGESTED_READERS = 500  # newest readers offered by the preview's reader field
ISSUE_PAGE_ROWS = 200  # failed and deferred rows listed on an issue's page, each
