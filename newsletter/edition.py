"""An edition: one issue date's paper pool, and each subscriber's picks from it.

The admin preview and the real send both go through `Edition` (and its `letters`, which render the
picks as email); only where the bytes go differs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any, Protocol

from newsletter.config import Settings
from newsletter.letters import Letters, Plan, sender_of
from newsletter.mime import message_id
from newsletter.models import Paper, Pick, PoolPaper, Subscriber
from newsletter.rank import make_scorer
from newsletter.rank.base import Scorer
from newsletter.rank.picks import Picker, PickRules, TopicSet
from newsletter.store import Store
from newsletter.store.issues import IssueRecord
from newsletter.store.ledger import Delivery

log = logging.getLogger(__name__)
EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class Reader(Protocol):
    """What choosing a reader's picks needs of them: a Subscriber, or a leaner row of the store."""

    @property
    def id(self) -> int: ...

    @property
    def topics(self) -> Sequence[str]: ...

    @property
    def excludes(self) -> Sequence[str]: ...

    @property
    def per_email(self) -> int: ...

    @property
    def cadence(self) -> str: ...

    @property
    def weekday(self) -> int: ...


class EmptyPool(Exception):
    """No paper in the issue's window, or no fetch since the last issue: it is not sent empty or stale.

    `listed` says whether any paper is listed in the window at all (skipped by the admin, or stale).
    """

    def __init__(self, message: str, *, listed: bool = False) -> None:
        super().__init__(message)
        self.listed = listed


def no_papers_line(issue_date: date) -> str:
    """What to say when no paper is listed in the window of the issue of `issue_date`."""
    return f"no papers listed for the issue of {issue_date}: run `newsletter fetch` first"


def scorer_for(store: Store, name: str) -> Scorer:
    """The configured scorer, with its embeddings kept in the store."""
    return make_scorer(
        name,
        paper_cache=store.embedding_cache("paper", EMBEDDING_MODEL),
        topic_cache=store.embedding_cache("topic", EMBEDDING_MODEL),
    )


class Edition:
    """The issue of one date: its pool (frozen once sending starts), picker and renderer."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        issue: IssueRecord | None,
        issue_date: date,
        pool: Sequence[PoolPaper],
        scorer: Scorer,
        links_date: date,
        skipped: AbstractSet[str] = frozenset(),
    ) -> None:
        self.store = store
        self.settings = settings
        self.issue = issue
        self.issue_date = issue_date
        scored = [p.paper for p in pool]
        self.pool = [p for p in scored if p.arxiv_id not in skipped]  # what readers can get
        # Every paper of the pool, skipped ones too: an email queued before a skip keeps its papers.
        self.papers = {p.arxiv_id: p for p in scored}
        # The pool reaches back far enough for weekly readers; daily ones get only its last days.
        daily_from = settings.issue.daily_from(issue_date)
        older = {p.paper.arxiv_id for p in pool if p.listed_on < daily_from}
        rules = PickRules(settings.rank.threshold, settings.rank.popularity_weight)
        self.picker = Picker(scorer, scored, rules, older, withheld=skipped)
        # Each reader's plan as an email: rendered with their signed links, and as MIME bytes.
        self.letters = Letters(settings, issue_date, scored, links_date)

    @classmethod
    def open(
        cls,
        store: Store,
        settings: Settings,
        issue_date: date,
        now: datetime,
        *,
        freeze: bool,
        ranker: str = "",
    ) -> Edition:
        """The edition of `issue_date`; `freeze=True` snapshots the pool (sending starts)."""
        issue = store.issues.find_issue(issue_date)
        skipped = store.issues.skipped_papers(issue_date)
        if issue is not None and issue.frozen_at is not None:
            pool = store.issues.snapshot(issue)
        else:
            # Skipped papers stay in the pool, and are scored with it, so that skipping one paper
            # changes no other paper's score: the ranker's weights depend on the whole pool.
            current = store.papers.pool(issue_date, settings.issue.pool_days)
            if freeze:
                if all(p.paper.arxiv_id in skipped for p in current):
                    raise EmptyPool(no_papers_line(issue_date), listed=bool(current))
                fresh = {p.paper.arxiv_id for p in current} - skipped
                stale = store.issues.staleness(issue_date, store.papers.last_success(), fresh)
                if stale:
                    raise EmptyPool(stale, listed=True)
                # Created only now: a send refused for want of papers leaves no empty issue behind.
                issue = store.issues.issue(issue_date, now)
                pool = store.issues.freeze(issue, current, now)
                held = len([p for p in pool if p.paper.arxiv_id not in skipped])
                withheld = f" ({len(pool) - held} skipped)" if held < len(pool) else ""
                log.info("issue: %s frozen with %d papers%s", issue_date, held, withheld)
            else:
                pool = current
        scorer = scorer_for(store, ranker or settings.rank.ranker)
        frozen = issue.frozen_at if issue is not None and issue.frozen_at is not None else now
        # Links live 90 days from their stamp: an issue sent after its date (a rerun, a back-dated
        # send) stamps them with the day its pool froze, so they work when they arrive. A stamp
        # is refused when it lies over two days ahead, so an issue sent days early (send --date
        # next week) stamps the day after it froze: no further ahead than tomorrow's issue.
        froze_on = frozen.astimezone(UTC).date()
        links_date = min(max(issue_date, froze_on), froze_on + timedelta(days=1))
        return cls(store, settings, issue, issue_date, pool, scorer, links_date, skipped)

    def plan(self, subscribers: Iterable[Subscriber]) -> list[Plan]:
        """What each subscriber gets, with full Pick records (the preview and the CLI)."""
        subs = list(subscribers)
        return [
            Plan(
                sub,
                row["kind"],
                tuple(pick_from_json(entry, self.papers) for entry in row["picks"]),
                tuple(self.papers[a] for a in row["trending"]),
            )
            for sub, row in zip(subs, self._choose(subs), strict=True)
        ]

    def queue_rows(self, readers: Sequence[Reader], now: datetime) -> list[dict[str, Any]]:
        """The ledger rows that carry each reader's picks; each distinct topic set is ranked once."""
        assert self.issue is not None
        issue_key = self.issue_date.isoformat()
        sender = sender_of(self.settings)
        rows = []
        for reader, choice in zip(readers, self._choose(readers), strict=True):
            skip = choice["kind"] == "skip"
            rows.append(
                {
                    "issue_id": self.issue.id,
                    "subscriber_id": reader.id,
                    "status": "skipped" if skip else "queued",
                    "kind": choice["kind"],
                    "cadence": reader.cadence,
                    "picks": choice["picks"],
                    "trending": choice["trending"],
                    "message_id": message_id(issue_key, reader.id, sender),
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_reply": self.no_email_reason() if skip else None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        return rows

    def _choose(self, readers: Sequence[Reader]) -> list[dict[str, Any]]:
        """One choice per reader: the single path both the preview and the real send go through."""
        sets = [TopicSet(tuple(r.topics), tuple(r.excludes)) for r in readers]
        ranked = self.picker.rank(sets)
        sent = self.store.subscribers.sent_ids([r.id for r in readers], list(self.papers))
        trending_fallback = self.settings.issue.empty_day == "trending"
        choices = []
        for reader, topic_set in zip(readers, sets, strict=True):
            ranking = ranked[topic_set]
            weekly = reader.cadence == "weekly"
            had = sent.get(reader.id, set())
            chosen = self.picker.choose(ranking, reader.per_email, had, weekly)
            picks = self.picker.entries(ranking, chosen)
            # Trending papers, too, are ones the reader has not had: in a picks email or an earlier
            # trending one (a quiet week would otherwise bring the same three every day).
            seen = chain((e["arxiv_id"] for e in picks), had)
            outside = self.picker.trending_outside(seen, 3, weekly, topic_set.excludes)
            trending = [p.arxiv_id for p in outside]
            if picks:
                kind = "digest"
            elif trending_fallback and trending:
                kind = "trending"
            else:
                kind = "skip"
            choices.append({"kind": kind, "picks": picks, "trending": trending})
        return choices

    @property
    def pruned(self) -> bool:
        """Whether the issue went out and its papers were pruned since (an issue freezes only with papers)."""
        return not self.papers and self.issue is not None and self.issue.frozen_at is not None

    def empty_line(self) -> str:
        """Why this edition holds no paper: none listed for it yet, or, once sent, pruned since."""
        if not self.pruned:
            return no_papers_line(self.issue_date)
        assert self.issue is not None and self.issue.frozen_at is not None
        return (
            f"the issue of {self.issue_date} went out {self.issue.frozen_at:%Y-%m-%d}; its papers were "
            f"removed since ([database] keep_days = {self.settings.database.keep_days})"
        )

    def no_email_reason(self) -> str:
        """Why a reader whose plan is "skip" gets no email from this edition."""
        if not self.pool:
            return self.empty_line()
        if self.settings.issue.empty_day == "skip":
            return "nothing on their topics (empty_day = skip)"
        return "nothing on their topics, and no trending paper they have not had"

    def preview_plan(self, subscriber: Subscriber) -> Plan:
        """What `send` delivers to this reader: the ledger row's picks once queued, else a fresh plan."""
        if self.issue is not None:
            for delivery in self.store.ledger.deliveries_of(self.issue, subscriber.id):
                return self.plan_from_delivery(delivery)
        return self.plan([subscriber])[0]

    def plan_from_delivery(self, delivery: Delivery) -> Plan:
        """The plan a ledger row froze, rebuilt against this edition's pool."""
        picks = tuple(pick_from_json(p, self.papers) for p in delivery.picks)
        trending = tuple(self.papers[a] for a in delivery.trending if a in self.papers)
        return Plan(delivery.subscriber, delivery.kind, picks, trending)


def pick_from_json(data: dict[str, Any], papers: dict[str, Paper]) -> Pick:
    return Pick(
        paper=papers[data["arxiv_id"]],
        score=float(data["score"]),
        relevance=float(data["relevance"]),
        topic=str(data["topic"]),
        matched=tuple(data["matched"]),
    )


def subscriber_picks(
    store: Store,
    settings: Settings,
    subscriber: Subscriber,
    issue_date: date,
    now: datetime,
    ranker: str | None = None,
) -> list[Pick]:
    """The papers `subscriber` gets in the issue of `issue_date` (without freezing it).

    Once the reader's email is queued (or sent), those are its picks, as the preview shows; a
    `ranker` other than the configured one ranks afresh. Raises EmptyPool when no paper is listed
    for the issue, so "no papers" is not mistaken for "nothing on your topics".
    """
    edition = Edition.open(store, settings, issue_date, now, freeze=False, ranker=ranker or "")
    if not edition.pool:
        raise EmptyPool(edition.empty_line())
    if ranker:
        return list(edition.plan([subscriber])[0].picks)
    return list(edition.preview_plan(subscriber).picks)
