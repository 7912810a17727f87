"""A reader's Atom feed of their delivered digests, at the address their manage page links to."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import Response

from newsletter.models import Subscriber
from newsletter.render.filters import long_date
from newsletter.signup import subscriber_for
from newsletter.web.context import WebContext


def build_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    svc = ctx.svc

    @router.api_route("/feed/{token}.xml", methods=["GET", "HEAD"])
    def feed(request: Request, token: str) -> Response:
        sub = subscriber_for(svc.store, svc.signer(), "feed", token)
        # Built from [web] base_url, as in the emails: the Host header is whatever the client sent.
        self_url = f"{svc.settings.web.base_url.rstrip('/')}/feed/{token}.xml"
        body = render_feed(ctx, sub, self_url).encode()
        # Feed readers poll every few minutes and the feed changes once a day: each may keep its copy
        # (private: it names the reader) but asks every time, and gets an empty 304 while it is current.
        tag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
        asked = request.headers.get("if-none-match", "")
        if tag in (t.strip().removeprefix("W/") for t in asked.split(",")) or asked.strip() == "*":
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/atom+xml; charset=utf-8", headers=headers)

    return router


LEADS = {"daily": "Papers for", "weekly": "Your week of papers to"}


def render_feed(ctx: WebContext, sub: Subscriber, self_url: str) -> str:
    """An Atom feed of the subscriber's delivered digests: each lists its picks, then its trending papers."""
    store = ctx.svc.store
    digests = store.history.sent_digests(sub.id, limit=30)
    wanted = {p["arxiv_id"] for d in digests for p in d.picks}
    papers = store.papers.by_ids(wanted | {a for d in digests for a in d.trending})
    entries = [
        {
            # Each email as it was named when sent: a reader who switches cadence keeps their history.
            # The date as the email's header writes it ("Wed 3 Dec 2025"), in English whatever the locale.
            "title": f"{LEADS[d.cadence or sub.cadence]} {long_date(d.issue_date)}",
            "id": f"{self_url}#{d.issue_date.isoformat()}",
            "updated": (d.sent_at or ctx.svc.clock()).isoformat(),
            # (paper, topic): a trending paper matched no topic of theirs, and says so instead.
            "papers": [(papers[p["arxiv_id"]], p["topic"]) for p in d.picks if p["arxiv_id"] in papers]
            + [(papers[a], None) for a in d.trending if a in papers],
        }
        for d in digests
    ]
    return ctx.env.get_template("web/feed.xml.j2").render(
        brand=ctx.svc.settings.delivery.from_name,
        email=sub.email,
        feed_id=self_url,
        self_url=self_url,
        updated=entries[0]["updated"] if entries else sub.created_at.isoformat(),
        entries=entries,
    )
