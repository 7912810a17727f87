"""The sign-up page's live topic preview: the papers a reader's topics would match today (or this week)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from newsletter.models import Pick
from newsletter.rank.picks import Picker, TopicSet
from newsletter.subscribers import (
    InvalidInput,
    check_cadence,
    clean_topic_set,
    split_topic_lines,
)
from newsletter.web.context import WebContext, client_ip, limit_key
from newsletter.web.forms import form_error, posted_form

# How many papers the preview lists: a few for one topic, one for each of several, and never many.
FEW, MOST = 5, 8


@dataclass(frozen=True)
class Spread:
    """What the preview lists, and what it says of each of the reader's topics."""

    picks: list[Pick]  # each under the topic it was taken for
    also: dict[str, list[str]]  # arXiv id -> the reader's other topics that paper matches too
    unmatched: list[str]  # topics that match no paper: to reword
    unlisted: list[str]  # topics with matches of their own that the list had no room for


def spread(picker: Picker, wanted: TopicSet, weekly: bool) -> Spread:
    """Papers taken in turn from each topic's own best matches, and the topics that match nothing.

    The email ranks all of a reader's topics together, so one popular topic can fill a preview and hide
    whether the others match anything: here each topic with matches gets its turn, the one whose best
    match scores highest first, and a paper shown for one topic is not shown again for another. Every
    topic is accounted for: a paper listed for one topic names the others it matches too, and topics
    that match but found no room in the list are named apart.
    """
    alone = [TopicSet((topic,), wanted.excludes) for topic in wanted.topics]
    ranked = picker.rank(alone)
    found = {single.topics[0]: picker.picks(ranked[single], MOST, set(), weekly) for single in alone}
    unmatched = [topic for topic, picks in found.items() if not picks]
    turns = [iter(picks) for picks in sorted(filter(None, found.values()), key=lambda picks: -picks[0].score)]
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
    matching = {topic: {p.paper.arxiv_id for p in picks} for topic, picks in found.items()}
    also = {
        pick.paper.arxiv_id: [
            t for t, ids in matching.items() if t != pick.topic and pick.paper.arxiv_id in ids
        ]
        for pick in chosen
    }
    named = {pick.topic for pick in chosen} | {t for topics in also.values() for t in topics}
    unlisted = [topic for topic, picks in found.items() if picks and topic not in named]
    return Spread(chosen, also, unmatched, unlisted)


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
            # The same checks as the form's, so the preview refuses what Subscribe would refuse.
            topic_set = TopicSet(*clean_topic_set(lines, excludes))
        except InvalidInput as exc:
            return JSONResponse({"matches": [], "error": form_error(exc)})
        edition = ctx.live_edition(ctx.svc.clock().date())
        # What the reader's email would choose from: the daily window, or for a weekly reader the
        # whole pool, older days included.
        shown = spread(edition.picker, topic_set, weekly)
        matches = [
            {
                "title": p.paper.title,
                "url": p.paper.hf_url,
                "reason": p.reason(),
                "topic": p.topic,
                "also": shown.also[p.paper.arxiv_id],  # the reader's other topics this paper matches
            }
            for p in shown.picks
        ]
        # "pool": papers the preview chose from; 0 means none fetched yet, not "no match".
        # "unmatched": the topics with no match among them, for the reader to reword.
        # "unlisted": topics with matches of their own that the list had no room for.
        return JSONResponse(
            {
                "matches": matches,
                "cadence": cadence,
                "pool": len(edition.pool),
                "unmatched": shown.unmatched,
                "unlisted": shown.unlisted,
            }
        )

    return router
