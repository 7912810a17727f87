"""The ledger-driven send loop: claim a batch, render, send over parallel connections, record at once."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from newsletter.deliver import Accepted, SendError, Transport, TransportUnusable
from newsletter.deliver.refusals import RefusalBreaker
from newsletter.edition import Edition
from newsletter.mime import ascii_address
from newsletter.models import counted
from newsletter.store.ledger import Delivery, Outcome
from newsletter.tokens import Signer

log = logging.getLogger(__name__)
GATHER_S = 0.003
STOPPING = "the process is stopping; the rest waits for the next run"


@dataclass
class SendSummary:
    """What one run did, for the summary line and the exit code."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    skipped: int = 0
    stopped: str | None = None
    # Seconds spent building messages (render and MIME), for the benchmark's stage times.
    render_s: float = 0.0
    built: int = 0
    built_bytes: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)

    def merge(self, other: SendSummary) -> None:
        """Add another run's counts to these."""
        for name in ("sent", "deferred", "failed", "skipped", "render_s", "built", "built_bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def attempted(self) -> int:
        return self.sent + self.deferred + self.failed + self.skipped

    def line(self) -> str:
        counts = {
            "sent": self.sent,
            "deferred": self.deferred,
            "failed": self.failed,
            "skipped": self.skipped,
        }
        text = "send: " + ", ".join(f"{n:,} {what}" for what, n in counts.items())
        return f"{text}; stopped: {self.stopped}" if self.stopped else text


def retry_line(waiting: int, soonest: datetime | None) -> str:
    """What a run that ends with retries still waiting says: a rerun before then sends nothing."""
    if not waiting:
        return ""
    when = f", the first at {soonest:%Y-%m-%d %H:%M} UTC" if soonest else ""
    verb = "waits" if waiting == 1 else "wait"
    messages = counted(waiting, "deferred message")
    return f"send: {messages} {verb} for a retry{when}; a run before then sends nothing"


def worker_name() -> str:
    """A name unique to this process, recorded in claimed_by."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class SendLoop:
    """Sends one edition's due ledger rows through `transport`, `connections` at a time."""

    edition: Edition
    transport: Transport
    signer: Signer
    clock: Callable[[], datetime]
    connections: int = 1
    worker: str = field(default_factory=worker_name)
    only_subscriber: int | None = None
    on_outcome: Callable[[Outcome], None] | None = None
    stopping: threading.Event | None = None  # once set, no new message starts; the rest is handed back
    _fatal_error: str | None = field(default=None, init=False)

    def run(self) -> SendSummary:
        """Send until no row is due, or the circuit breaker trips."""
        summary = SendSummary()
        settings = self.edition.settings.delivery
        issue = self.edition.issue
        assert issue is not None, "open the edition with freeze=True before sending"
        store = self.edition.store
        consecutive_failures = 0
        in_flight: dict[Future[Accepted], Delivery] = {}
        refusals = RefusalBreaker()

        def settle() -> None:
            # Group commit: a connection is free again only once its result is recorded, and every
            # send that has finished is recorded in the same transaction. So at most `connections`
            # accepted messages are ever unrecorded, and commits stay few.
            nonlocal consecutive_failures
            if not in_flight:
                return
            done, pending = wait(list(in_flight), return_when=FIRST_COMPLETED)
            if pending and len(done) < len(in_flight) // 2:
                # Let a few more finish: one commit for several results keeps the write lock free
                # for other workers. A few milliseconds, far below a message's time on the wire.
                more, _ = wait(pending, timeout=GATHER_S, return_when=ALL_COMPLETED)
                done |= more
            outcomes = []
            for future in done:
                delivery = in_flight.pop(future)
                outcome = self._outcome(delivery, future)
                if outcome.status == "sent":
                    consecutive_failures = 0
                elif _is_connection_failure(future):
                    consecutive_failures += 1
                outcomes += refusals.take(outcome, future.exception())
            self._record(outcomes, summary)
            if refusals.tripped:
                if self._fatal_error is None:
                    log.error("send: stopped: %s", refusals.reason)
                    self._fatal_error = refusals.reason
                # Refused for our sake, not the readers': queued again, not failed, not bounced.
                store.ledger.release(refusals.give_back(), self.clock())

        with ThreadPoolExecutor(max_workers=self.connections, thread_name_prefix="smtp") as pool:
            while summary.stopped is None:
                batch = store.ledger.claim(
                    issue,
                    self.worker,
                    self.clock(),
                    settings.lease_s,
                    settings.batch_size,
                    self.only_subscriber,
                )
                if not batch:
                    break
                pending = list(batch)
                while pending and summary.stopped is None:
                    delivery = pending.pop(0)
                    if delivery.subscriber.status != "active":
                        # Re-checked at claim time, just before sending: a mid-run unsubscribe is honoured.
                        self._record(
                            [Outcome(delivery, "skipped", f"subscriber is {delivery.subscriber.status}")],
                            summary,
                        )
                        continue
                    started = time.perf_counter()
                    message = self._message(delivery)
                    summary.render_s += time.perf_counter() - started
                    summary.built += 1
                    summary.built_bytes += len(message)
                    while len(in_flight) >= self.connections:
                        settle()
                    summary.stopped = self._stop_reason(consecutive_failures)
                    if summary.stopped is not None:
                        pending.insert(0, delivery)
                        break
                    future = pool.submit(
                        self.transport.send,
                        ascii_address(self.edition.settings.delivery.from_address),
                        ascii_address(delivery.subscriber.email),
                        message,
                        delivery.message_id,
                    )
                    in_flight[future] = delivery
                while in_flight:
                    settle()
                summary.stopped = summary.stopped or self._stop_reason(consecutive_failures)
                if summary.stopped is not None:
                    store.ledger.release(pending, self.clock())
        if summary.stopped is not None:
            # Stopped before the breaker could tell whose refusals those were: they wait too.
            store.ledger.release([o.delivery for o in refusals.release_held()], self.clock())
        else:
            # Fewer rows than the breaker's count, or the run ended: the refusals were the readers'.
            self._record(refusals.release_held(), summary)
        if summary.stopped is None and consecutive_failures and not summary.sent:
            # Fewer readers than the breaker's count, and not one reached: the relay is down all
            # the same, and a cron job must hear of it (exit 5), not read a quiet "0 sent".
            failures = counted(consecutive_failures, "connection failure")
            summary.stopped = f"nothing reached the relay ({failures}); the rest waits for the next run"
        return summary

    def _stop_reason(self, consecutive_failures: int) -> str | None:
        if self.stopping is not None and self.stopping.is_set():
            return STOPPING
        if self._fatal_error is not None:
            return self._fatal_error
        if consecutive_failures >= self.edition.settings.delivery.max_connection_failures:
            return f"{consecutive_failures} consecutive connection failures; the rest waits for the next run"
        return None

    def _message(self, delivery: Delivery) -> bytes:
        plan = self.edition.plan_from_delivery(delivery)
        return self.edition.letters.message(plan, delivery.message_id, self.clock(), self.signer)

    def _outcome(self, delivery: Delivery, future: Future[Accepted]) -> Outcome:
        exc = future.exception()
        if exc is None:
            return Outcome(delivery, "sent", future.result().reply)
        if isinstance(exc, TransportUnusable):
            self._fatal_error = str(exc)
            return Outcome(delivery, "deferred", str(exc), next_attempt_at=self.clock())
        if not isinstance(exc, SendError):
            # Anything unexpected is logged with the row kept for a retry, never lost.
            log.error("send: unexpected error for delivery %d: %r", delivery.id, exc)
            exc = SendError(f"unexpected error: {type(exc).__name__}: {exc}", connection=True)
        if exc.permanent:
            return Outcome(delivery, "failed", exc.reply, bounced=exc.bounced)
        return self._defer(delivery, exc.reply)

    def _defer(self, delivery: Delivery, reply: str) -> Outcome:
        settings = self.edition.settings.delivery
        now = self.clock()
        delays = settings.retry_delays
        delay = delays[min(delivery.attempts, len(delays) - 1)]
        deadline = delivery.created_at + timedelta(hours=settings.retry_deadline_hours)
        if now + timedelta(seconds=delay) > deadline:
            return Outcome(delivery, "failed", f"gave up after {settings.retry_deadline_hours:g} h: {reply}")
        return Outcome(delivery, "deferred", reply, next_attempt_at=now + timedelta(seconds=delay))

    def _record(self, outcomes: list[Outcome], summary: SendSummary) -> None:
        if not outcomes:
            return
        self.edition.store.ledger.record(outcomes, self.clock())
        for outcome in outcomes:
            summary.add(outcome)
            if outcome.status in ("deferred", "failed"):
                log.warning(
                    "send: %s %s: %s", outcome.status, outcome.delivery.subscriber.email, outcome.reply
                )
            if outcome.bounced:
                log.warning("send: %s bounced; no more mail will go to it", outcome.delivery.subscriber.email)
            if self.on_outcome is not None:
                self.on_outcome(outcome)


def _is_connection_failure(future: Future[Accepted]) -> bool:
    exc = future.exception()
    return isinstance(exc, TransportUnusable) or (isinstance(exc, SendError) and exc.connection)
