"""An edition's emails: each reader's plan rendered with their signed links, and wrapped as MIME."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from newsletter.config import Settings
from newsletter.mime import MimeWriter, Sender
from newsletter.models import Paper, Pick, Subscriber
from newsletter.render import EditionRenderer, Links, Masthead, RenderedEmail, make_environment, templates_dir
from newsletter.tokens import Signer


@dataclass(frozen=True, slots=True)
class Plan:
    """What one subscriber gets: their picks, or an empty-day trending email, or nothing."""

    subscriber: Subscriber
    kind: str  # digest, trending or skip
    picks: tuple[Pick, ...]
    trending: tuple[Paper, ...]


def sender_of(settings: Settings) -> Sender:
    """Who the issue's emails are from, as [delivery] names it."""
    d = settings.delivery
    return Sender(address=d.from_address, name=d.from_name, reply_to=d.reply_to, list_id=d.list_id)


def links_for(base_url: str, signer: Signer, subscriber: Subscriber, day: date) -> Links:
    """The signed manage and unsubscribe links of one subscriber, stamped with midnight UTC of `day`."""
    base = base_url.rstrip("/")
    stamp = datetime.combine(day, time(0), tzinfo=UTC)
    return Links(
        manage=f"{base}/manage/{signer.mint('manage', subscriber, at=stamp)}",
        unsubscribe=f"{base}/unsubscribe/{signer.mint('unsubscribe', subscriber, at=stamp)}",
    )


class Letters:
    """The emails of one issue: the renderer is built once (premailer runs once per issue)."""

    def __init__(self, settings: Settings, issue_date: date, pool: Sequence[Paper], links_date: date) -> None:
        self.settings = settings
        self.issue_date = issue_date
        self.pool = pool
        self.links_date = links_date  # the day the links are stamped with; Edition.open() chooses it
        self._renderer: EditionRenderer | None = None
        self._mime: MimeWriter | None = None

    @property
    def renderer(self) -> EditionRenderer:
        # Built on first use: premailer runs here, once per issue, never per subscriber.
        if self._renderer is None:
            masthead = Masthead(
                brand=self.settings.delivery.from_name, postal_line=self.settings.delivery.postal_line
            )
            env = make_environment(templates_dir())
            self._renderer = EditionRenderer(env, self.issue_date, self.pool, masthead)
        return self._renderer

    def render(self, plan: Plan, signer: Signer) -> RenderedEmail:
        """The subscriber's email exactly as it will be sent, parts in their on-the-wire (CRLF) form."""
        links = links_for(self.settings.web.base_url, signer, plan.subscriber, self.links_date)
        return self.renderer.render(plan.subscriber, plan.picks, plan.trending, links)

    def message(self, plan: Plan, msg_id: str, now: datetime, signer: Signer) -> bytes:
        """MIME bytes for one subscriber, from the same render the preview shows."""
        links = links_for(self.settings.web.base_url, signer, plan.subscriber, self.links_date)
        rendered = self.renderer.render(plan.subscriber, plan.picks, plan.trending, links)
        if self._mime is None:
            self._mime = MimeWriter(sender_of(self.settings), self.issue_date.isoformat())
        return self._mime.build(
            rendered, to=plan.subscriber.email, message_id=msg_id, date=now, unsubscribe_url=links.unsubscribe
        )
