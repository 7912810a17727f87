"""The admin JSON API under /api, described by the app's OpenAPI schema; bearer-token auth."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from newsletter.bounces import BounceFileError, apply_bounces, read_upload
from newsletter.collect import run_fetch
from newsletter.subscribers import InvalidInput
from newsletter.web.admin import STATUS_ORDER, check_bearer
from newsletter.web.context import WebContext
from newsletter.web.guard import API_BODY_LIMIT, MBOX_BODY_LIMIT, UNAUTHENTICATED
from newsletter.web.preview import SkipRefused, build_preview, parse_issue_date, skip_paper


class PickOut(BaseModel):
    arxiv_id: str
    title: str
    score: float
    relevance: float
    topic: str
    matched: list[str]


class PreviewOut(BaseModel):
    issue_date: str
    kind: str = Field(description="digest, trending (an empty day's trending-only email) or skip (no email)")
    subject: str | None
    picks: list[PickOut]
    html: str | None
    text: str | None
    note: str | None = Field(
        default=None, description="Why the reader does not get this issue: not active, or weekly, another day"
    )
    pool: int = Field(description="Papers in the issue's pool, before ranking")
    no_email: str | None = Field(default=None, description="Why there is no email, when kind is skip")


class IssueOut(BaseModel):
    issue_date: str
    frozen: bool
    counts: dict[str, int]


class FetchOut(BaseModel):
    line: str
    failures: list[str]


class SkipIn(BaseModel):
    date: str = Field(max_length=40, description="tomorrow, today or YYYY-MM-DD")
    arxiv_id: str = Field(max_length=40)
    undo: bool = Field(default=False, description="Put a skipped paper back instead")


class BouncesOut(BaseModel):
    line: str
    hard: list[str]
    soft: list[str]
    suppressed: list[str]


# Declared as an HTTP bearer security scheme, so OpenAPI tools know to send the token. At module
# level: the annotations are strings (postponed), resolved in this module's namespace.
BEARER = HTTPBearer(auto_error=False, description="The value of NEWSLETTER_WEB_ADMIN_TOKEN")


class MessageOut(BaseModel):
    message: str


class ErrorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")  # the schema says: nothing but `detail`

    detail: str


class FieldError(BaseModel):
    """One input the API refused: where (`loc`), why (`msg`, `type`); never the input itself."""

    model_config = ConfigDict(extra="forbid")

    loc: list[str | int]
    msg: str
    type: str


class InvalidOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    detail: str | list[FieldError] = Field(
        description="A sentence (the input was well formed but refused), or the inputs that failed validation"
    )


# What any operation may answer besides its own results: declared on every one, so clients know them.
ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "A body that cannot be read (JSON that is not UTF-8)"},
    401: {
        "model": ErrorOut,
        "description": "No valid bearer token",
        "headers": {"WWW-Authenticate": {"required": True, "schema": {"type": "string", "const": "Bearer"}}},
    },
    413: {
        "model": ErrorOut,
        "description": f"A body over {API_BODY_LIMIT} bytes ({MBOX_BODY_LIMIT} for POST /api/bounces)",
    },
    422: {"model": InvalidOut, "description": "Input refused"},
    429: {"model": ErrorOut, "description": "Too many wrong tokens from this address: try later"},
}


async def validation_error(request: Request, exc: Exception) -> Response:
    """An /api validation error names each input that failed (loc, msg, type) but never echoes it."""
    assert isinstance(exc, RequestValidationError)  # registered for it alone
    if not request.url.path.startswith("/api/"):
        return await request_validation_exception_handler(request, exc)
    errors = [{key: error[key] for key in ("loc", "msg", "type") if key in error} for error in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


def build_router(ctx: WebContext) -> APIRouter:
    """The API's operations. Served behind guard.ApiGate, which checks the token (and counts wrong ones
    against `[web] login_limit_ip`) and caps the body before any of it is read."""

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> None:
        # A second lock, should a route ever be served without the gate; it declares the scheme too.
        offered = f"Bearer {credentials.credentials}" if credentials is not None else None
        if not check_bearer(ctx.svc.settings.web.admin_token, offered):
            raise HTTPException(401, UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})

    router = APIRouter(
        prefix="/api", tags=["admin"], dependencies=[Depends(require_token)], responses=ANSWERS
    )
    svc = ctx.svc

    @router.get("/subscribers/counts")
    def subscriber_counts() -> dict[str, int]:
        """Subscribers by status."""
        counts = svc.store.subscribers.counts_by_status()
        return {status: counts.get(status, 0) for status in STATUS_ORDER}

    @router.get("/issues")
    def recent_issues(limit: Annotated[int, Query(ge=1, le=100)] = 10) -> list[IssueOut]:
        """The latest issues with their delivery ledger counts."""
        return [
            IssueOut(issue_date=i.issue_date.isoformat(), frozen=i.frozen_at is not None, counts=c)
            for i, c in svc.store.history.recent_issues(limit)
        ]

    @router.get("/preview")
    def preview(
        email: Annotated[str, Query(max_length=320)] = "",
        topics: Annotated[str, Query(max_length=10_000)] = "",
        date: Annotated[str, Query(max_length=40)] = "tomorrow",
    ) -> PreviewOut:
        """The exact email a reader (or ad-hoc topics) would get, with each pick's score and reason."""
        email = email.strip()  # only spaces: not given
        try:
            issue_date = parse_issue_date(date, ctx)
            if not email and not topics.strip():
                raise InvalidInput("email", "give a subscriber's email or some topics")
            if email and topics.strip():
                # The reader's own topics would win: ignoring the ones sent would mislead.
                raise InvalidInput("topics", "give a subscriber's email or some topics, not both")
            result = build_preview(ctx, issue_date, email, topics)
        except InvalidInput as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        rendered = result.rendered
        return PreviewOut(
            issue_date=issue_date.isoformat(),
            kind=result.plan.kind,
            subject=rendered.subject if rendered else None,
            picks=[
                PickOut(
                    arxiv_id=p.paper.arxiv_id,
                    title=p.paper.title,
                    score=p.score,
                    relevance=p.relevance,
                    topic=p.topic,
                    matched=list(p.matched),
                )
                for p in result.plan.picks
            ],
            html=rendered.html if rendered else None,
            text=rendered.text if rendered else None,
            note=result.note,
            pool=len(result.edition.pool),
            no_email=result.edition.no_email_reason() if rendered is None else None,
        )

    @router.post(
        "/skip",
        response_model=MessageOut,
        responses={
            404: {
                "model": MessageOut,
                "description": "Unknown paper, a paper not in the issue's pool, or (undo) one not skipped",
            },
        },
    )
    def skip(body: SkipIn) -> MessageOut | JSONResponse:
        """Keep a paper out of an issue, or with `undo` put it back.

        Once the issue is sending, the skip holds for the emails not queued yet; those already
        queued or sent keep the paper. 200 only when the paper was skipped (or put back); 404 says
        why nothing changed.
        """
        try:
            issue_date = parse_issue_date(body.date, ctx)
        except InvalidInput as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        try:
            return MessageOut(message=skip_paper(ctx, issue_date, body.arxiv_id, body.undo))
        except SkipRefused as exc:
            return JSONResponse(MessageOut(message=str(exc)).model_dump(), status_code=exc.status)

    @router.post(
        "/bounces",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def bounce(request: Request) -> BouncesOut:
        """Upload bounces (RFC 3464 delivery status notifications): one message, or an mbox of them.

        Every message of an mbox is read, as `newsletter bounces import` reads it; a hard bounce
        suppresses its address. Bytes that are neither are refused (422), as the CLI refuses them.
        """
        raw = await request.body()  # guard.ApiGate stops it at MBOX_BODY_LIMIT (a 413)
        if not raw or len(raw) > MBOX_BODY_LIMIT:
            raise HTTPException(status_code=422, detail="send a message or an mbox of at most 5 MB")
        try:
            messages = await run_in_threadpool(read_upload, raw, "the request body")
        except BounceFileError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        report = await run_in_threadpool(apply_bounces, svc.store, messages, svc.clock())
        return BouncesOut(
            line=report.line(), hard=report.hard, soft=report.soft, suppressed=report.suppressed
        )

    @router.post(
        "/fetch",
        response_model=FetchOut,
        responses={502: {"model": FetchOut, "description": "Every source failed: nothing was fetched."}},
    )
    def fetch() -> FetchOut | JSONResponse:
        """Run the fetch of every enabled source now; 502 when every one of them failed.

        One failing source among several still answers 200; `failures` names it, as it names each in a 502.
        """
        outcome = run_fetch(svc)
        body = FetchOut(line=outcome.line(), failures=outcome.failures)
        if outcome.all_failed:
            # As `newsletter run --once` exits 3: the upstream failed, and a client must be able to tell.
            return JSONResponse(body.model_dump(), status_code=502)
        return body

    return router
