"""The sign-up page's live topic preview: the papers a reader's topics would match today (or this week)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from newsletter.models import Pick
from newsletter.rank.picks import Picker, TopicSet
from newsletter.subscribers import (
    InvalidInput,
    check_cadence,
    clean_excludes,
    clean_topics,
    split_topic_lines,
)
from newsletter.web.context import WebContext, client_ip, limit_key
from newsletter.web.forms import form_error, posted_form

# How many papers the preview lists: a few for one topic, one for each of several, and never many.
FEW, MOST = 5, 8


def spread(picker: Picker, wanted: TopicSet, weekly: bool) -> tuple[list[Pick], list[str]]:
    """Papers taken in turn from each topic's own best matches, and the topics that match nothing.

    The email ranks all of a reader's topics together, so one popular topic can fill a preview and hide
    whether the others match anything: here each topic with matches gets its turn, the one whose best
    match scores highest first, and a paper shown for one topic is not shown again for another.
    """
    alone = [TopicSet((topic,), wanted.excludes) for topic in wanted.topics]
    ranked = picker.rank(alone)
    found = [picker.picks(ranked[single], MOST, set(), weekly) for single in alone]
    unmatched = [single.topics[0] for single, picks in zip(alone, found, strict=True) if not picks]
    turns = [iter(picks) for picks in sorted(filter(None, found), key=lambda picks: -picks[0].score)]
    limit = max(FEW, min(MOST, len(turns)))
    chosen: list[Pick] = []
    shown: set[str] = set()
    while turns and len(chosen) < limit:
        for turn in list(turns):
            pick = next((p for p in turn if p.paper.arxiv_id not in shown), None)
            if pick is None:
                turns.remove(turn)
                continue
            shown.add(pick.paper.arxiv_id)
            chosen.append(pick)
            if len(chosen) == limit:
                break
    return chosen, unmatched


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
        picks, unmatched = spread(edition.picker, topic_set, weekly)
        matches = [
            {"title": p.paper.title, "url": p.paper.hf_url, "reason": p.reason(), "topic": p.topic}
            for p in picks
        ]
        # "pool": papers the preview chose from; 0 means none fetched yet, not "no match".
        # "unmatched": the topics with no match among them, for the reader to reword.
        return JSONResponse(
            {"matches": matches, "cadence": cadence, "pool": len(edition.pool), "unmatched": unmatched}
        )

    return router
