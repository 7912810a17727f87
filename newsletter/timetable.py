"""The APScheduler timetable of `newsletter run`: fetch times, delivery tick, daily prune and the lease."""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.events import EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from newsletter.schedule import Runner
from newsletter.store import store_error

log = logging.getLogger(__name__)


def _outlasting(job: Callable[[], object]) -> Callable[[], object]:
    """`job` for the scheduler: a store outage is one log line, not a traceback; the next run retries."""

    def run() -> object:
        try:
            return job()
        except SQLAlchemyError as exc:
            log.error("schedule: store unreachable (%s); the next run tries again", store_error(exc))
            return None

    return run


def build_scheduler(runner: Runner) -> BackgroundScheduler:
    """APScheduler 3 with the fetch times, the delivery tick, the daily prune and the lease.

    Coalesced, one instance, misfire grace. The tick runs at once on start; after a start, a
    takeover or a dropped fetch it fetches first.
    """
    settings = runner.svc.settings.schedule
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": settings.misfire_grace_s},
    )
    if not settings.fetch_times:
        log.warning(
            "schedule: fetch_times is empty, so this scheduler fetches nothing: issues wait for papers "
            "that `newsletter fetch` (from cron, say) brings"
        )
    for text in settings.fetch_times:
        hour, minute = (int(part) for part in text.split(":"))
        scheduler.add_job(
            _outlasting(runner.fetch_job),
            CronTrigger(hour=hour, minute=minute, timezone="UTC"),
            id=f"fetch-{text}",
        )
    scheduler.add_job(
        _outlasting(runner.tick),
        IntervalTrigger(minutes=settings.tick_minutes, timezone="UTC"),
        id="delivery-tick",
        next_run_time=runner.svc.clock(),
    )
    # Hourly, pruning once a day: a restart or a takeover of the lease still prunes that day.
    scheduler.add_job(_outlasting(runner.prune_job), IntervalTrigger(hours=1, timezone="UTC"), id="prune")
    scheduler.add_listener(runner.job_missed, EVENT_JOB_MISSED)
    scheduler.add_job(
        _outlasting(runner.holds_lease),
        IntervalTrigger(seconds=max(5, settings.lease_s // 3), timezone="UTC"),
        id="lease",
    )
    return scheduler
