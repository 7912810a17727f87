"""When a message does not go through: a 451 or a dropped connection defers it, and a later run retries it
under the same Message-ID once it is due; a 550 fails the row (and bounces the reader only when the address
is gone); a relay refusing our sender, or one that is down, stops the run and loses nothing; `issue` names
the failures. Sent to a real aiosmtpd server on loopback, with real SQLite and the real fixtures.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests import deliver_support
from tests.deliver_support import DAY, MORNING
from tests.smtp_server import ScriptedHandler, start_server

# The fixtures, from the module that holds them: a CLI, a loopback relay and the day's papers.
mail_env = deliver_support.mail_env
mail = deliver_support.mail


def test_451_defers_and_the_next_run_delivers_under_the_same_message_id(mail):
    mail.subscribe("later@example.org")
    mail.handler.script["later@example.org"] = ["451"]
    first = mail.send()
    assert "0 sent, 1 deferred" in first.stdout
    [row] = mail.ledger()["later@example.org"]
    assert row.status == "deferred"
    status = mail.cli("issue", "--date", DAY).stdout.splitlines()
    reply = "DATA: 451 4.3.0 Temporary local problem, try later"
    retry = f"next try {mail.now + timedelta(minutes=1):%Y-%m-%d %H:%M} UTC"  # the first backoff step
    assert status[2] == f"  deferred later@example.org: {reply} (1 attempt; {retry})"
    assert mail.send().stdout.startswith("send: 0 sent, 0 deferred")  # not due yet: backoff
    mail.now += timedelta(minutes=2)
    assert "1 sent" in mail.send().stdout
    [item] = mail.handler.received
    assert item.message_id == row.message_id
    assert mail.handler.attempts["later@example.org"] == 2


@pytest.mark.parametrize("action", ["drop-before-dot", "drop-after-dot"])
def test_a_dropped_connection_is_retried_under_the_same_message_id(mail, action):
    mail.subscribe("flaky@example.org")
    mail.handler.script["flaky@example.org"] = [action]
    # Nothing got through in that run: exit 5, as for a relay that is down.
    assert "1 deferred" in mail.send(code=5).stdout
    [row] = mail.ledger()["flaky@example.org"]
    if action == "drop-after-dot":
        assert [u.message_id for u in mail.handler.unacknowledged] == [row.message_id]
    mail.now += timedelta(minutes=2)
    assert "1 sent" in mail.send().stdout
    assert [r.message_id for r in mail.handler.received] == [row.message_id]


def test_a_rerun_before_the_retry_is_due_says_what_waits_and_until_when(mail):
    mail.subscribe("solo@example.org")
    mail.handler.script["solo@example.org"] = ["451"]  # once: the relay takes it on the next try
    assert "send: 0 sent, 1 deferred" in mail.send().stdout
    store = mail.store()
    try:
        [row] = store.history.troubles(store.issues.find_issue(MORNING.date()).id, "deferred")
    finally:
        store.dispose()
    assert row.next_attempt_at == mail.now + timedelta(minutes=1)  # [delivery] retry_minutes' first
    # Before the retry is due, a rerun sends nothing: it says so, and when.
    mail.now += timedelta(seconds=20)
    waits = (
        f"send: 1 deferred message waits for a retry, the first at {row.next_attempt_at:%Y-%m-%d %H:%M} UTC; "
        "a run before then sends nothing"
    )
    rerun = mail.send()
    assert "send: 0 sent, 0 deferred" in rerun.stdout and waits in rerun.stdout
    worker = mail.cli("worker", "--until-done")
    assert worker.exit_code == 0 and waits in worker.stdout
    # Once it is due, it goes, and nothing is said to wait.
    mail.now = row.next_attempt_at
    due = mail.send()
    assert "send: 1 sent" in due.stdout and "waits for a retry" not in due.stdout
    assert [r.recipient for r in mail.handler.received] == ["solo@example.org"]


def test_550_marks_the_row_failed_and_the_subscriber_bounced(mail):
    mail.subscribe("gone@example.org")
    mail.subscribe("fine@example.org")
    mail.handler.script["gone@example.org"] = ["550"]
    result = mail.send()
    assert "1 sent, 0 deferred, 1 failed" in result.stdout
    [row] = mail.ledger()["gone@example.org"]
    assert row.status == "failed"
    status = mail.cli("issue", "--date", DAY).stdout.splitlines()
    assert status[1] == "  queued 0, sending 0, sent 1, deferred 0, failed 1, skipped 0"
    assert status[2] == "  failed gone@example.org: RCPT: 550 5.1.1 No such user here (1 attempt)"
    assert len(status) == 3
    store = mail.store()
    assert store.subscribers.by_email("gone@example.org").status == "bounced"
    store.dispose()


def test_a_550_refusing_the_message_not_the_address_fails_the_row_but_keeps_the_reader(mail):
    mail.subscribe("picky@example.org")
    mail.handler.script["picky@example.org"] = ["550-policy"]
    assert "0 sent, 0 deferred, 1 failed" in mail.send().stdout
    [row] = mail.ledger()["picky@example.org"]
    assert row.status == "failed"
    assert "failed picky@example.org: RCPT: 550 5.7.1" in mail.cli("issue", "--date", DAY).stdout
    store = mail.store()
    assert store.subscribers.by_email("picky@example.org").status == "active"
    store.dispose()


def test_issue_lists_at_most_twenty_failures_and_counts_the_rest(mail):
    # A first reader delivered, on one connection so before the rest: 22 refused alike with nothing
    # accepted would read as a relay refusing us, and stop the run with every row queued.
    mail.subscribe("fine@example.org")
    for i in range(22):
        mail.subscribe(f"gone{i:02d}@example.org")
        mail.handler.script[f"gone{i:02d}@example.org"] = ["550"]
    one_connection = {"NEWSLETTER_SMTP_POOL_SIZE": "1"}
    assert "1 sent, 0 deferred, 22 failed" in mail.send(env=one_connection).stdout
    lines = mail.cli("issue", "--date", DAY).stdout.splitlines()
    failures = [line for line in lines if line.startswith("  failed ")]
    assert len(failures) == 20 and lines[-1] == "  ... and 2 more failed"
    assert len({line.split(":")[0] for line in failures}) == 20  # twenty different readers


class SenderRefusingHandler(ScriptedHandler):
    """A relay that refuses our sender address at MAIL FROM, as one checking the sender's domain does."""

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        return f"553 5.1.8 <{address}>: Sender address rejected: Domain not found"


def test_a_relay_refusing_our_sender_stops_the_run_and_bounces_no_reader(mail):
    # 553 5.1.8 at RCPT would be a gone address; at MAIL FROM it is ours, the same for every reader.
    for name in ("ada", "bob", "cy"):
        mail.subscribe(f"{name}@example.org")
    refusing = SenderRefusingHandler()
    controller = start_server(refusing)
    try:
        result = mail.send(env={"NEWSLETTER_SMTP_PORT": str(controller.port)}, code=5)
    finally:
        controller.stop()
    assert "refuses our sender: MAIL: 553 5.1.8" in result.stdout
    assert refusing.received == [] and refusing.attempts == {}
    rows = [row for rows in mail.ledger().values() for row in rows]
    assert len(rows) == 3 and {row.status for row in rows} <= {"deferred", "queued"}
    store = mail.store()
    try:
        assert {s.status for s in store.subscribers.listed()} == {"active"}
    finally:
        store.dispose()
    # Once the sender is fixed (here: the relay that accepts it), the next run delivers to all.
    mail.now += timedelta(minutes=2)
    assert "send: 3 sent, 0 deferred, 0 failed" in mail.send().stdout


def test_relay_down_defers_trips_the_breaker_and_loses_nothing(mail, smtp):
    for i in range(8):
        mail.subscribe(f"r{i}@example.org")
    _, controller = smtp
    controller.stop()
    result = mail.send(code=5)
    assert "consecutive connection failures" in result.stdout
    rows = [row for rows in mail.ledger().values() for row in rows]
    assert len(rows) == 8
    assert {row.status for row in rows} <= {"deferred", "queued"}
    # The breaker trips at the 5th failure; the other connection's attempt in flight also fails.
    assert 5 <= sum(row.status == "deferred" for row in rows) <= 5 + 1
    assert not mail.handler.received


def test_relay_down_with_a_single_reader_is_exit_5_not_a_quiet_0(mail, smtp):
    mail.subscribe("solo@example.org")
    _, controller = smtp
    controller.stop()
    result = mail.send(code=5)
    assert "send: 0 sent, 1 deferred" in result.stdout
    assert "stopped: nothing reached the relay (1 connection failure)" in result.stdout
    [row] = mail.ledger()["solo@example.org"]
    assert row.status == "deferred"
