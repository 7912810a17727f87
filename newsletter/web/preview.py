"""The issue preview the admin pages and the JSON API share: build it, send a copy, skip a paper."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from newsletter import dates
from newsletter.deliver import SendError, TransportUnusable
from newsletter.edition import Edition
from newsletter.letters import Plan
from newsletter.models import Paper, Subscriber, not_sent_note
from newsletter.notices import deliver_notice, preview_notice
from newsletter.render import RenderedEmail
from newsletter.render.edition import Links
from newsletter.subscribers import InvalidInput, clean_excludes, clean_topics, split_topic_lines
from newsletter.web.context import WebContext


@dataclass(frozen=True, slots=True)
class PreviewResult:
    """What the preview shows: the plan (picks and reasons) and the exact email."""

    edition: Edition
    plan: Plan
    rendered: RenderedEmail | None
    note: str | None = None  # a weekly reader previewed on another day


def build_preview(ctx: WebContext, issue_date: date, email: str, topics: str) -> PreviewResult:
    """Tomorrow's email for a reader (or ad-hoc topics), through the same code path as the real send."""
    svc = ctx.svc
    edition = Edition.open(svc.store, svc.settings, issue_date, svc.clock(), freeze=False)
    note = None
    email = email.strip()  # spaces alone are no address: the ad-hoc topics are previewed
    if email:
        sub = svc.store.subscribers.by_email(email)
        if sub is None:
            raise InvalidInput("email", f"no subscriber {email}")
        plan = edition.preview_plan(sub)
        note = not_sent_note(sub, issue_date)
    else:
        lines, excludes = split_topic_lines(topics.replace("\r\n", "\n").split("\n"))
        defaults = svc.settings.subscribers
        adhoc = Subscriber(
            id=0,
            email=svc.settings.delivery.admin_email or "preview@example.org",
            status="active",
            topics=clean_topics(lines),
            excludes=clean_excludes(excludes),
            timezone=defaults.default_timezone,
            hour=defaults.default_hour,
            cadence="daily",
            weekday=0,
            per_email=defaults.default_per_email,
            created_at=svc.clock(),
        )
        plan = edition.plan([adhoc])[0]
    rendered = None if plan.kind == "skip" else edition.letters.render(plan, svc.signer())
    return PreviewResult(edition, plan, rendered, note)


def parse_issue_date(text: str, ctx: WebContext) -> date:
    """The issue date a form or query names (default tomorrow), by the CLI's rule; InvalidInput if not."""
    return dates.parse_issue_date(text or "tomorrow", ctx.svc.clock().date())


def is_frozen(ctx: WebContext, issue_date: date) -> bool:
    """Whether the issue has started sending: its pool is fixed, and queued emails keep their papers."""
    issue = ctx.svc.store.issues.find_issue(issue_date)
    return issue is not None and issue.frozen_at is not None


class SkipRefused(Exception):
    """A skip (or put-back) that did not happen: `status` is its HTTP answer, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def skip_paper(ctx: WebContext, issue_date: date, arxiv_id: str, undo: bool = False) -> str:
    """Keep a paper out of an issue, or with `undo` put it back; says what happened.

    Once the issue is sending, a skip still keeps the paper from every email not queued yet (the
    readers whose morning has not come); those already queued or sent keep it. SkipRefused (404)
    when nothing changed: the API must not answer 200 to a skip that failed.
    """
    svc = ctx.svc
    shown = arxiv_id[:40]
    issue = svc.store.issues.find_issue(issue_date)
    frozen = issue is not None and issue.frozen_at is not None
    already = " Emails already queued or sent keep it." if frozen else ""
    if arxiv_id not in svc.store.papers.by_ids({arxiv_id}):
        raise SkipRefused(404, f"No paper {shown} in the store.")
    if undo:
        if not svc.store.issues.unskip_paper(issue_date, arxiv_id):
            raise SkipRefused(404, f"{shown} was not skipped from the issue of {issue_date}.")
        back = " for the emails not queued yet" if frozen else ""
        return f"{arxiv_id} is back in the issue of {issue_date}{back}."
    # A paper outside the issue's pool would never be sent anyway: "skipped" would mislead.
    if issue is not None and frozen:
        pool = svc.store.issues.snapshot(issue)
    else:
        pool = svc.store.papers.pool(issue_date, svc.settings.issue.pool_days)
    if all(p.paper.arxiv_id != arxiv_id for p in pool):
        raise SkipRefused(
            404, f"{shown} is not in the issue of {issue_date}: it was not listed in the days it draws on."
        )
    svc.store.issues.skip_paper(issue_date, arxiv_id, svc.clock())
    also = _also_sending(ctx, issue_date, arxiv_id)
    return f"{arxiv_id} will not be in the issue of {issue_date}.{already}{also}"


def _also_sending(ctx: WebContext, issue_date: date, arxiv_id: str) -> str:
    """A note when the day before's issue, still being sent to the west's readers, holds the paper too.

    Readers whose morning has not come yet get that issue later today: skipping the paper from
    tomorrow's issue alone would not keep it from them.
    """
    store = ctx.svc.store
    earlier = store.issues.find_issue(issue_date - timedelta(days=1))
    if (
        earlier is None
        or earlier.frozen_at is None
        or arxiv_id in store.issues.skipped_papers(earlier.issue_date)
    ):
        return ""
    if all(p.paper.arxiv_id != arxiv_id for p in store.issues.snapshot(earlier)):
        return ""
    return (
        f" It is also in the issue of {earlier.issue_date}, being sent now: skip it there too to keep it"
        " from the readers whose morning has not come yet."
    )


def skipped_from(ctx: WebContext, issue_date: date) -> list[Paper]:
    """The papers skipped from an issue, by arXiv id, for the preview's "put back" list."""
    store = ctx.svc.store
    papers = store.papers.by_ids(store.issues.skipped_papers(issue_date))
    return [papers[arxiv_id] for arxiv_id in sorted(papers)]


def send_copy(ctx: WebContext, to: str, result: PreviewResult, query: dict[str, str]) -> str:
    """Mail the admin the previewed email, with its reader's links pointing back to this preview.

    The reader's own manage and unsubscribe links must not travel: a click in the admin's inbox
    (or a forward) would change or end someone else's subscription.
    """
    if result.rendered is None:
        return "This reader gets no email that day; nothing to send."
    svc = ctx.svc
    back = f"{svc.settings.web.base_url.rstrip('/')}/admin/preview?{urlencode(query)}"
    plan = result.plan
    rendered = result.edition.letters.renderer.render(
        plan.subscriber, plan.picks, plan.trending, Links(manage=back, unsubscribe=back)
    )
    try:
        deliver_notice(svc.transport, svc.settings, preview_notice(svc.settings, to, rendered, svc.clock()))
    except (SendError, TransportUnusable) as exc:
        return f"Sending failed: {exc}"
    return f"Sent the preview to {to}."
