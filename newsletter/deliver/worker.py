"""`newsletter worker`: drain every issue's due ledger rows; run as many as you like, on any machine.

Workers share the queue through the database: each claims small batches with
SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL) or BEGIN IMMEDIATE (SQLite) and a lease, so a
worker that dies hands its rows back when the lease runs out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.exc import SQLAlchemyError

from newsletter.deliver.send import SendLoop, SendSummary, worker_name
from newsletter.edition import Edition
from newsletter.models import counted
from newsletter.services import Services
from newsletter.store import store_error

log = logging.getLogger(__name__)

MAX_OUTAGE_WAIT_S = 60.0  # between tries while the store is unreachable


@dataclass
class Worker:
    """One sender process: claims, renders and sends until no row is left, or forever."""

    svc: Services
    name: str = field(default_factory=worker_name)
    _editions: dict[date, Edition] = field(default_factory=dict)

    def drain_once(self) -> SendSummary:
        """Send every row that is due now, across issues."""
        total = SendSummary()
        store = self.svc.store
        for issue in store.ledger.issues_with_due_rows(self.svc.clock()):
            edition = self._editions.get(issue.issue_date)
            if edition is None:
                # Once per issue and process: the frozen pool, the renderer and its one premailer call.
                edition = Edition.open(
                    store, self.svc.settings, issue.issue_date, self.svc.clock(), freeze=True
                )
                self._editions = {issue.issue_date: edition}
            transport = self.svc.transport()
            try:
                summary = SendLoop(
                    edition=edition,
                    transport=transport,
                    signer=self.svc.signer(),
                    clock=self.svc.clock,
                    connections=self.svc.connections(),
                    worker=self.name,
                    stopping=self.svc.stopping,
                ).run()
            finally:
                transport.close()
            total.merge(summary)
            if summary.stopped:
                total.stopped = summary.stopped
                break
        return total

    def run(self, *, until_done: bool, poll_s: float) -> SendSummary:
        """Drain repeatedly; with `until_done`, stop once no row is queued, sending or due.

        Returns early once `svc.stopping` is set, with the messages in flight finished. Without
        `until_done`, a store outage is waited out, polling less often the longer it lasts.
        """
        total = SendSummary()
        outages = 0
        while not self.svc.stopping.is_set():
            try:
                summary = self.drain_once()
            except SQLAlchemyError as exc:
                if until_done:
                    raise  # a cron job: its exit code (4) says it
                # A long-running sender outlasts a database restart; its claimed rows come back to
                # the queue when their lease runs out, if it is not back by then.
                outages += 1
                wait = min(poll_s * 2**outages, MAX_OUTAGE_WAIT_S)
                log.error("worker: store unreachable (%s); trying again in %g s", store_error(exc), wait)
                self.svc.stopping.wait(wait)
                continue
            if outages:
                log.info(
                    "worker: store reachable again after %s; sending on",
                    counted(outages, "failed try", "failed tries"),
                )
            outages = 0
            total.merge(summary)
            if summary.stopped:
                total.stopped = summary.stopped
                return total
            if summary.attempted:
                continue
            if until_done and not self.svc.store.ledger.has_unfinished(self.svc.clock()):
                return total
            self.svc.stopping.wait(poll_s)
        return total
