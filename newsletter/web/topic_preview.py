"""The sign-up page's live topic preview: the papers a reader's topics would match today (or this week)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from newsletter.rank.picks import TopicSet
from newsletter.subscribers import (
    InvalidInput,
    check_cadence,
    clean_excludes,
    clean_topics,
    split_topic_lines,
)
from newsletter.web.context import WebContext, client_ip, limit_key
from newsletter.web.forms import form_error, posted_form


def build_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/topic-preview")
    async def topic_preview_post(request: Request) -> JSONResponse:
        # What the page sends: a form body with the page's CSRF token, checked like any form's. A GET
        # would carry the topics in its address, which fifty long topics push past what the server reads.
        form = await posted_form(request)
        if form.too_long is not None:
            return JSONResponse({"matches": [], "error": form_error(form.too_long)})
        topics, cadence = form.values.get("topics", ""), form.values.get("cadence", "daily")
        # Ranking reads the database: in the thread pool, not on the event loop.
        return await run_in_threadpool(preview, request, topics, cadence)

    @router.api_route("/api/topic-preview", methods=["GET", "HEAD"])
    def topic_preview_get(request: Request, topics: str = "", cadence: str = "daily") -> JSONResponse:
        # The same answer for a short query in the address, as before the page posted it.
        return preview(request, topics, cadence)

    def preview(request: Request, topics: str, cadence: str) -> JSONResponse:
        if not ctx.limits.allow("120/minute", "preview-ip", limit_key(client_ip(request))):
            return JSONResponse({"matches": [], "error": "too many requests"}, status_code=429)
        try:
            weekly = check_cadence(cadence) == "weekly"
            # Not cut short first: a cut topic would be refused with a length it does not have.
            lines, excludes = split_topic_lines(topics.replace("\r\n", "\n").split("\n"))
            topic_set = TopicSet(clean_topics(lines), clean_excludes(excludes))
        except InvalidInput as exc:
            return JSONResponse({"matches": [], "error": form_error(exc)})
        edition = ctx.live_edition(ctx.svc.clock().date())
        # What the reader's email would choose from: the daily window, or for a weekly reader the
        # whole pool, older days included.
        picks = edition.picker.picks(edition.picker.rank([topic_set])[topic_set], 5, set(), weekly)
        matches = [{"title": p.paper.title, "url": p.paper.hf_url, "reason": p.reason()} for p in picks]
        # "pool": papers the preview chose from; 0 means none fetched yet, not "no match".
        return JSONResponse({"matches": matches, "cadence": cadence, "pool": len(edition.pool)})

    return router
