"""The daily rhythm: fetch at set times; a delivery tick sends each reader's issue on their morning."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.events import JobExecutionEvent

from newsletter.alerts import Alerter
from newsletter.collect import missed_fetch
from newsletter.deliver.run import TickReport, enqueue
from newsletter.deliver.send import SendLoop, worker_name
from newsletter.edition import Edition, EmptyPool
from newsletter.models import Schedule, Subscriber, gets_issue
from newsletter.services import Services
from newsletter.store.retention import Pruned, prune, pruned_on
from newsletter.store.subscribers import SubscriberStore

log = logging.getLogger(__name__)
LEASE = "scheduler"


def slot(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The instant of `hour`:00 local time on `day`; in a DST gap it falls just after the jump."""
    return datetime.combine(day, time(hour), tzinfo=zone)


def schedule_date(schedule: Schedule, now: datetime) -> tuple[date, datetime] | None:
    """The local date whose issue a reader on `schedule` should have by `now`, and that day's slot.

    An issue is due from its slot until the reader's next one: after downtime, or a wait for papers
    past the reader's midnight, it goes out late rather than never, and the next slot's issue
    replaces it, so missed days never pile up. None if that slot is not on a weekly reader's weekday.
    Keyed by the local date, so a DST change can neither send twice (the repeated hour is the same
    date) nor skip (the missing hour compares as the instant after the jump).
    """
    zone = ZoneInfo(schedule.timezone)
    today = now.astimezone(zone).date()
    day = today if slot(today, schedule.hour, zone) <= now else today - timedelta(days=1)
    if not gets_issue(schedule.cadence, schedule.weekday, day):
        return None
    return day, slot(day, schedule.hour, zone)


def confirmed_by(sub: Subscriber, start: datetime) -> bool:
    """False for a reader who joined after today's delivery time: their first digest is tomorrow's."""
    return sub.confirmed_at is None or sub.confirmed_at <= start


def first_slot(sub: Subscriber, now: datetime) -> tuple[date, datetime]:
    """The issue date and slot of the first digest `due_subscribers` queues for `sub`, by its rules.

    The first slot, from the local day they confirmed, that `schedule_date` gives on reaching it and
    `confirmed_by` lets through. A reader not confirmed (or from before confirmations) counts from `now`.
    """
    zone, since = ZoneInfo(sub.timezone), sub.confirmed_at or now
    day = since.astimezone(zone).date()
    for _ in range(8):  # a weekly reader's weekday comes round within a week
        due = schedule_date(sub.schedule, slot(day, sub.hour, zone))
        if due is not None and since <= due[1] and confirmed_by(sub, due[1]):
            return due
        day += timedelta(days=1)
    raise AssertionError(f"no slot within eight days for {sub.schedule}")


def due_subscribers(
    store: SubscriberStore, now: datetime, started: Callable[[date], bool] = lambda day: False
) -> dict[date, list[Subscriber]]:
    """Active subscribers whose delivery time has passed and who are not queued yet, by local issue date.

    The schedules are few, so the time arithmetic runs once per schedule; the database then
    returns only the readers on a due schedule without a row for that issue, and a tick after
    the morning's queueing reads next to nothing. An issue due from before the reader's midnight
    counts only if it was `started` (frozen, or waiting for papers): a first install sends no
    yesterday.
    """
    begun = cache(started)
    schedules: dict[date, list[Schedule]] = defaultdict(list)
    starts: dict[Schedule, datetime] = {}
    for schedule in store.schedules("active"):
        try:
            due = schedule_date(schedule, now)
        except (ZoneInfoNotFoundError, ValueError):
            # Sign-up validates zones, but the system's time zone data can change under a
            # running install: those readers wait, loudly, and everyone else is still served.
            log.error(
                "tick: unknown time zone %r; its readers get nothing until it is fixed", schedule.timezone
            )
            continue
        if due is None or (due[0] < now.astimezone(ZoneInfo(schedule.timezone)).date() and not begun(due[0])):
            continue
        schedules[due[0]].append(schedule)
        starts[schedule] = due[1]
    found: dict[date, list[Subscriber]] = {}
    for day, on_time in sorted(schedules.items()):
        fresh = [sub for sub in store.unqueued(day, on_time) if confirmed_by(sub, starts[sub.schedule])]
        if fresh:
            found[day] = fresh
    return found


def delivery_tick(
    svc: Services, alerter: Alerter, worker: str, waiting: AbstractSet[date] = frozenset()
) -> TickReport:
    """Queue everyone who is due, then send every due ledger row; `waiting`: issues waiting for papers."""
    store, settings, now = svc.store, svc.settings, svc.clock()
    report = TickReport()

    def started(day: date) -> bool:
        issue = store.issues.find_issue(day)
        return day in waiting or (issue is not None and issue.frozen_at is not None)

    for issue_date, fresh in due_subscribers(store.subscribers, now, started).items():
        try:
            edition = Edition.open(store, settings, issue_date, now, freeze=True)
        except EmptyPool as exc:
            if not exc.listed and _never_filled(svc, issue_date, fresh):
                continue
            report.waiting.append(issue_date.isoformat())
            _wait_or_give_up(svc, alerter, issue_date, [s.id for s in fresh], str(exc))
            continue
        queued = enqueue(edition, fresh, now)
        report.queued += queued.digest + queued.trending + queued.skip
        report.no_email += queued.skip
    for issue in store.ledger.issues_with_due_rows(svc.clock()):
        edition = Edition.open(store, settings, issue.issue_date, svc.clock(), freeze=True)
        transport = svc.transport()
        try:
            loop = SendLoop(
                edition=edition,
                transport=transport,
                signer=svc.signer(),
                clock=svc.clock,
                connections=svc.connections(),
                worker=worker,
                stopping=svc.stopping,
            )
            summary = loop.run()
        finally:
            transport.close()
        report.summaries.append(summary)
        if svc.stopping.is_set():
            break  # the service is shutting down: not an outage to alert on
        if summary.stopped:
            alerter.raise_once(
                f"delivery-stopped:{issue.issue_date}",
                f"sending the issue of {issue.issue_date} stopped",
                summary.stopped,
            )
    log.info(report.line())
    return report


def _never_filled(svc: Services, issue_date: date, fresh: list[Subscriber]) -> bool:
    """Close an issue no fetch can fill: nothing listed for it (the caller knows, from EmptyPool), and
    the sources already list later days.

    A fetch lists papers under the day it runs, so once one has succeeded after `issue_date`, an
    empty pool for that date stays empty (a first install, readers west of UTC whose local day is
    still yesterday): waiting would only re-fetch every tick and alert about sources that work.
    """
    store, now = svc.store, svc.clock()
    last = store.papers.last_success()
    if last is None or last.astimezone(UTC).date() <= issue_date:
        return False
    issue = store.issues.issue(issue_date, now)
    reason = f"skipped: no papers were listed for {issue_date}"
    store.ledger.skip_readers(issue, [s.id for s in fresh], reason, now)
    log.info("tick: no papers were ever listed for %s; %d readers skip that day", issue_date, len(fresh))
    return True


def _wait_or_give_up(
    svc: Services, alerter: Alerter, issue_date: date, subscriber_ids: list[int], reason: str
) -> None:
    """An issue with no fresh papers waits (and alerts once); with on_stale = "skip" it is given up."""
    store, settings, now = svc.store, svc.settings.issue, svc.clock()
    since = store.issues.wait(issue_date, now)
    alerter.raise_once(
        f"stale:{issue_date}",
        f"the issue of {issue_date} is waiting for papers",
        f"{reason}. It is retried on every tick; on_stale = {settings.on_stale!r}.",
    )
    if settings.on_stale == "skip" and now - since >= timedelta(hours=settings.give_up_hours):
        issue = store.issues.issue(issue_date, now)
        store.ledger.skip_readers(
            issue, subscriber_ids, f"skipped: no fresh papers after {settings.give_up_hours:g} h", now
        )
        log.error("tick: gave up the issue of %s for %d readers: %s", issue_date, len(subscriber_ids), reason)


@dataclass
class Runner:
    """Runs the jobs under the scheduler lease: only the holder acts, even with several processes."""

    svc: Services
    fetch: Callable[[], object]
    holder: str = field(default_factory=worker_name)

    def __post_init__(self) -> None:
        self.alerter = Alerter(self.svc)
        self.waiting: set[date] = set()  # the issues the last tick left waiting for papers
        self.held: bool | None = None  # at the last try; None before the first
        # Set on taking the lease (a start, or a takeover from a scheduler that died) and when
        # APScheduler drops a fetch as misfired: the next tick fetches, if nothing did since its time.
        self.catching_up = False
        self.fetched_at: datetime | None = None  # this process's last fetch attempt
        # The fetch jobs and the tick run in APScheduler's threads: one fetch at a time, and a tick
        # that finds a fetch running waits for its papers rather than fetch again beside it.
        self._fetching = threading.RLock()

    def holds_lease(self) -> bool:
        ttl = self.svc.settings.schedule.lease_s
        held = self.svc.store.leases.acquire(LEASE, self.holder, self.svc.clock(), ttl)
        if held and self.held is not True:
            if self.held is False:  # a start needs no line; a takeover is news to the operator
                log.info("schedule: %s took over the scheduler lease", self.holder)
            self.catching_up = True
        elif not held:
            log.debug("schedule: another scheduler holds the lease; standing by")
        self.held = held
        return held

    def tick(self) -> TickReport | None:
        """One delivery tick; a missed fetch, or one an issue waits for, is tried first."""
        if not self.holds_lease():
            return None
        # In the tick, not beside it, so an issue never freezes while the papers are on their way.
        fetched = self.catching_up and self._catch_up()
        if self.waiting and not fetched:
            log.info("tick: an issue is waiting for papers; fetching again")
            self._fetch()
        report = delivery_tick(self.svc, self.alerter, self.holder, self.waiting)
        self.waiting = {date.fromisoformat(day) for day in report.waiting}
        return report

    def prune_job(self) -> Pruned | None:
        """Once a UTC day, under the lease: remove the history `[database] keep_days` no longer keeps."""
        keep_days, now = self.svc.settings.database.keep_days, self.svc.clock()
        if (
            keep_days == 0
            or not self.holds_lease()
            or pruned_on(self.svc.store) == now.astimezone(UTC).date()
        ):
            return None
        pruned = prune(self.svc.store, keep_days, now)
        # A day with nothing to remove (every day of a new install) adds no line to the log.
        log.log(
            logging.INFO if pruned.removed or pruned.requests or pruned.held else logging.DEBUG, pruned.line()
        )
        return pruned

    def fetch_job(self) -> object:
        if not self.holds_lease():
            return None
        return self._fetch()

    def _fetch(self) -> object:
        with self._fetching:
            self.fetched_at = self.svc.clock()
            return self.fetch()

    def job_missed(self, event: JobExecutionEvent) -> None:
        """APScheduler's word that it dropped a run (the process stalled past misfire_grace_s)."""
        if event.job_id.startswith("fetch-"):
            log.warning(
                "schedule: the fetch of %s UTC was dropped as misfired", f"{event.scheduled_run_time:%H:%M}"
            )
            self.catching_up = True

    def _catch_up(self) -> bool:
        """Run the last fetch time's fetch if no one has (here or, successfully, anywhere); True if so."""
        self.catching_up = False
        with self._fetching:
            fetch_times, now = self.svc.settings.schedule.fetch_times, self.svc.clock()
            due = missed_fetch(self.svc.store, fetch_times, now, self.fetched_at)
            if due is None:
                return False
            log.info("schedule: the fetch of %s UTC was missed; fetching now", f"{due:%Y-%m-%d %H:%M}")
            self._fetch()
            return True

    def release(self) -> None:
        self.svc.store.leases.release(LEASE, self.holder)
