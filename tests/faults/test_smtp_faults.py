"""Every SMTP failure a relay can throw at us, scripted per recipient and per attempt."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from newsletter import app
from newsletter.config import load_settings
from newsletter.deliver.run import send_issue
from tests.conftest import MovableClock
from tests.faults.support import ISSUE, MORNING, fill_store, report, smtp_env
from tests.smtp_server import ScriptedHandler, start_server

# recipient action on the first attempt -> (status after the first run, delivered in the end, bounced)
SCRIPT = {
    "r0@example.org": ("421", "deferred", True, False),
    "r1@example.org": ("451", "deferred", True, False),
    "r2@example.org": ("452", "deferred", True, False),
    "r3@example.org": ("550", "failed", False, True),
    "r4@example.org": ("552", "failed", False, False),
    "r5@example.org": ("drop-before-dot", "deferred", True, False),
    "r6@example.org": ("drop-after-dot", "deferred", True, False),
    "r7@example.org": ("slow", "deferred", True, False),
    "r8@example.org": ("ok", "sent", True, False),
}


@pytest.fixture
def smtp():
    handler = ScriptedHandler(slow_s=2.5)
    controller = start_server(handler)
    yield handler, controller
    controller.stop()


def run(db_url, port, clock):
    settings = load_settings(
        None,
        smtp_env(db_url, port, NEWSLETTER_SMTP_TIMEOUT_S="1", NEWSLETTER_SMTP_POOL_SIZE="2"),
    )
    store = app.open_store(settings.database)
    transport = app.build_transport(settings)
    try:
        signer = app.build_signer(settings, store)
        return send_issue(store, settings, transport, signer, ISSUE, clock)[1], store
    finally:
        transport.close()


@pytest.mark.slow
def test_each_failure_is_deferred_failed_or_bounced_and_retried(db_url, smtp, capsys):
    handler, controller = smtp
    fill_store(db_url, len(SCRIPT))
    for recipient, (action, *_rest) in SCRIPT.items():
        handler.script[recipient] = [action]
    clock = MovableClock(MORNING)
    first, store = run(db_url, controller.port, clock)
    issue = store.issues.find_issue(ISSUE)
    for sub in store.subscribers.listed():
        [row] = store.ledger.deliveries_of(issue, sub.id)
        action, status, _, bounced = SCRIPT[sub.email]
        assert row.status == status, (sub.email, action, row.status)
        assert (sub.status == "bounced") == bounced, (sub.email, sub.status)
    store.dispose()

    clock.now += timedelta(minutes=2)
    second, store = run(db_url, controller.port, clock)
    counts = Counter(r.recipient for r in handler.received)
    for recipient, (action, _, delivered, _) in SCRIPT.items():
        assert (counts[recipient] >= 1) == delivered, (recipient, action, counts[recipient])
    # A reply too slow for our timeout may still have been accepted: the one duplicate we allow.
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= 1 and set(r for r, n in counts.items() if n > 1) <= {"r7@example.org"}
    # The retry carries the same Message-ID as the dropped attempt the server did read.
    [unacked] = handler.unacknowledged
    [retried] = [r for r in handler.received if r.recipient == "r6@example.org"]
    assert retried.message_id == unacked.message_id
    issue_counts = store.history.counts(store.issues.find_issue(ISSUE))
    report(
        capsys,
        f"smtp faults: first run {first.line()}; retry {second.line()}; "
        f"lost 0, duplicated {duplicates}, deferred {issue_counts['deferred']}, "
        f"failed {issue_counts['failed']}",
    )
    store.dispose()
    assert issue_counts["sent"] == 7 and issue_counts["failed"] == 2


def test_relay_down_trips_the_breaker_and_nothing_is_marked_sent(db_url, capsys):
    fill_store(db_url, 20)
    port = 9  # nothing listens on the discard port: a relay that is down
    clock = MovableClock(MORNING)
    summary, store = run(db_url, port, clock)
    counts = store.history.counts(store.issues.find_issue(ISSUE))
    report(
        capsys,
        f"relay down: {summary.line()}; lost 0, sent {counts['sent']}, deferred {counts['deferred']}, "
        f"queued {counts['queued']}",
    )
    assert summary.stopped and "consecutive connection failures" in summary.stopped
    assert counts["sent"] == 0
    assert counts["deferred"] + counts["queued"] == 20
    # Nothing is lost: once the relay is back, a later run delivers everyone.
    handler = ScriptedHandler()
    controller = start_server(handler)
    try:
        clock.now += timedelta(hours=2)
        summary, store = run(db_url, controller.port, clock)
    finally:
        controller.stop()
    assert summary.sent == 20 and len({r.recipient for r in handler.received}) == 20
    store.dispose()
