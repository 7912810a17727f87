"""A relay refusing us, not the readers: the run stops with the rows queued, failing and bouncing nobody."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.store.ledger import Delivery
from tests.conftest import CliRunnerFn
from tests.faults.support import ISSUE, MORNING, fill_store
from tests.smtp_server import ScriptedController, ScriptedHandler, start_server

READERS = 12  # more than the breaker's default of 10


class RelayDenyingHandler(ScriptedHandler):
    """A relay that answers every RCPT alike, as one does to a client that has not logged in."""

    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply = reply

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self.next_action(address)  # counts the attempt
        return self.reply.format(address=address)


class Relay:
    """Runs `send` against one loopback relay and reads the ledger and readers back."""

    def __init__(self, run_cli: CliRunnerFn, db_url: str) -> None:
        self.run_cli, self.db_url = run_cli, db_url
        self.controller: ScriptedController | None = None

    def start(self, handler: ScriptedHandler) -> None:
        self.stop()
        self.controller = start_server(handler)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def send(self, code: int, **env: str) -> Any:
        return self.cli(code, "send", "--date", ISSUE.isoformat(), **env)

    def cli(self, code: int, *args: str, **env: str) -> Any:
        assert self.controller is not None
        base = {
            "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
            "NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@example.org",
            "NEWSLETTER_SMTP_HOST": "127.0.0.1",
            "NEWSLETTER_SMTP_PORT": str(self.controller.port),
            "NEWSLETTER_SMTP_SECURITY": "none",
            "NEWSLETTER_SMTP_POOL_SIZE": "2",
            "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
            "NEWSLETTER_WEB_SECRET_KEY": "test-secret-key-0123456789",
        }
        result = self.run_cli(*args, env={**base, **env}, clock=lambda: MORNING)
        assert result.exit_code == code, result.output
        return result

    def rows(self) -> dict[str, Delivery]:
        store = app.open_store(DatabaseSettings(url=self.db_url))
        try:
            issue = store.issues.find_issue(ISSUE)
            assert issue is not None
            return {
                s.email: row
                for s in store.subscribers.listed()
                for row in store.ledger.deliveries_of(issue, s.id)
            }
        finally:
            store.dispose()

    def statuses(self) -> set[str]:
        store = app.open_store(DatabaseSettings(url=self.db_url))
        try:
            return {s.status for s in store.subscribers.listed()}
        finally:
            store.dispose()

    def reader_status(self, email: str) -> str:
        store = app.open_store(DatabaseSettings(url=self.db_url))
        try:
            reader = store.subscribers.by_email(email)
            assert reader is not None
            return reader.status
        finally:
            store.dispose()


@pytest.fixture
def relay(run_cli: CliRunnerFn, db_url: str) -> Iterator[Relay]:
    fill_store(db_url, READERS)
    r = Relay(run_cli, db_url)
    yield r
    r.stop()


@pytest.mark.parametrize(
    "reply",
    [
        "554 5.7.1 <{address}>: Relay access denied",  # Postfix without a login
        "550 relay not permitted",  # Exim: no enhanced status, so at RCPT it reads as a gone address
    ],
)
def test_a_relay_refusing_every_recipient_stops_the_run_and_fails_no_one(relay, reply):
    denying = RelayDenyingHandler(reply)
    relay.start(denying)
    result = relay.send(code=5)
    answer = reply.format(address="r0@example.org").split(" <")[0]
    assert "stopped: the relay refused the first 10 recipients alike" in result.stdout
    assert f"RCPT: {answer}" in result.stdout and f"RCPT: {answer}" in result.stderr
    assert denying.received == []
    # The breaker tripped at 10; the rest were never tried (one more may have been on the other connection).
    assert 10 <= sum(denying.attempts.values()) <= 11
    rows = relay.rows()
    assert len(rows) == READERS and {row.status for row in rows.values()} == {"queued"}
    assert relay.statuses() == {"active"}
    # A sender process meets the same breaker, and stops the same way.
    worker = relay.cli(5, "worker", "--until-done")
    assert "stopped: the relay refused the first 10 recipients alike" in worker.stdout
    assert {row.status for row in relay.rows().values()} == {"queued"}
    # Once the relay takes our mail (the login fixed), the next run delivers the day's issue to all.
    accepting = ScriptedHandler()
    relay.start(accepting)
    assert f"send: {READERS} sent, 0 deferred, 0 failed" in relay.send(code=0).stdout
    assert sorted(accepting.by_recipient()) == sorted(rows)


def test_readers_whose_addresses_are_gone_fail_and_bounce_however_many_in_a_row(relay):
    # Twelve dead addresses next to each other: the relay looked at each, so the run records them
    # (and bounces them), rather than stopping every run on them until someone removes them.
    relay.start(RelayDenyingHandler("550 5.1.1 <{address}>: Recipient address rejected: User unknown"))
    result = relay.send(code=0)
    assert f"send: 0 sent, 0 deferred, {READERS} failed" in result.stdout
    assert {row.status for row in relay.rows().values()} == {"failed"}
    assert relay.statuses() == {"bounced"}


class FirstReadersRefusedHandler(ScriptedHandler):
    """Refuses the listed readers as a relay refuses a message on policy; takes everyone else."""

    def __init__(
        self, refused: set[str], reply: str = "554 5.7.1 <{address}>: Recipient refused by policy"
    ) -> None:
        super().__init__()
        self.refused, self.reply = refused, reply

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refused:
            self.next_action(address)
            return self.reply.format(address=address)
        return await super().handle_RCPT(server, session, envelope, address, options)


@pytest.mark.parametrize(("action", "counts"), [("ok", "1 sent, 0 deferred"), ("451", "0 sent, 1 deferred")])
def test_readers_refused_alike_around_another_reply_fail_alone(relay, action, counts):
    # Nine readers refused alike, then one delivered (or deferred): the relay answers readers
    # differently, so those refusals are the readers' own, as are the two after it.
    refused = {f"r{i}@example.org" for i in (*range(9), 10, 11)}
    handler = FirstReadersRefusedHandler(refused)
    handler.script["r9@example.org"] = [action]
    relay.start(handler)
    # One connection, so the order of the replies is the order of the rows.
    result = relay.send(code=0, NEWSLETTER_SMTP_POOL_SIZE="1")
    assert f"send: {counts}, 11 failed" in result.stdout and "stopped" not in result.stdout
    rows = relay.rows()
    assert {email for email, row in rows.items() if row.status == "failed"} == refused
    assert relay.statuses() == {"active"}  # 5.7.1 blames the message, not the address


class DataRefusingHandler(ScriptedHandler):
    """Takes every RCPT, then refuses the message of the listed readers after DATA with `reply`."""

    def __init__(self, refused: set[str], reply: str) -> None:
        super().__init__()
        self.refused, self.reply = refused, reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if envelope.rcpt_tos[0] in self.refused:
            return self.reply
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize(
    ("reply", "bounced"),
    [
        ("550 Message rejected as spam by Content Filtering", False),  # Exim's content scan: no status
        ("550 5.7.1 Message rejected as spam", False),
        ("554 5.6.0 Message content refused", False),
        ("550 5.1.1 <r0@example.org>: Recipient address rejected", True),  # a store-and-check relay
        ("550 5.2.1 Mailbox disabled", True),
    ],
)
def test_a_refusal_after_data_bounces_the_reader_only_for_a_gone_address(relay, reply, bounced):
    relay.start(DataRefusingHandler({"r0@example.org"}, reply))
    result = relay.send(code=0)
    assert f"send: {READERS - 1} sent, 0 deferred, 1 failed" in result.stdout
    rows = relay.rows()
    assert rows["r0@example.org"].status == "failed"
    assert relay.reader_status("r0@example.org") == ("bounced" if bounced else "active")


def test_a_bare_550_at_rcpt_still_bounces_the_reader(relay):
    relay.start(FirstReadersRefusedHandler({"r0@example.org"}, "550 No such mailbox"))
    assert f"send: {READERS - 1} sent, 0 deferred, 1 failed" in relay.send(code=0).stdout
    assert relay.reader_status("r0@example.org") == "bounced"
