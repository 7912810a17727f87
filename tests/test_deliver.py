"""Sending the digest to a real aiosmtpd server on loopback, with real SQLite and the real fixtures."""

from __future__ import annotations

import email
import json
import re
import time
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.policy import default

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from newsletter.app import open_store
from newsletter.config import DatabaseSettings
from newsletter.scrape import parse_api
from tests.conftest import HF_API
from tests.smtp_server import ScriptedHandler, start_server

MARCH = HF_API / "daily_papers_2025-03-11.json"
DAY = "2025-03-11"
MORNING = datetime(2025, 3, 11, 7, 0, tzinfo=UTC)
TOPICS = ("LLM", "reasoning", "video generation", "diffusion", "agents")
# The Message-ID's hash of the default List-Id (papers.newsletter.invalid): it names the list.
LIST_KEY = "b9d10eea"


@pytest.fixture
def mail_env(smtp, tmp_path):
    _, controller = smtp
    return {
        "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(controller.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_SMTP_POOL_SIZE": "2",
        "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
        "NEWSLETTER_WEB_SECRET_KEY": "test-secret-key-0123456789",
        "NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@example.org",
    }


class Mail:
    """The CLI, a clock that can move, and the SMTP server's view."""

    def __init__(self, run_cli, env, handler, db_url):
        self.run_cli, self.env, self.handler, self.db_url = run_cli, env, handler, db_url
        self.now = MORNING

    def cli(self, *args, env=None):
        return self.run_cli(*args, env={**self.env, **(env or {})}, clock=lambda: self.now)

    def subscribe(self, email, *topics, extra=()):
        args = ["subscribers", "add", email, "--per-email", "5", *extra]
        for topic in topics or TOPICS:
            args += ["--topic", topic]
        result = self.cli(*args)
        assert result.exit_code == 0, result.output

    def send(self, *args, code=0, env=None):
        result = self.cli("send", "--date", DAY, *args, env=env)
        assert result.exit_code == code, result.output
        return result

    def store(self):
        return open_store(DatabaseSettings(url=self.db_url))

    def ledger(self):
        store = self.store()
        try:
            issue = store.issues.find_issue(MORNING.date())
            assert issue is not None
            return {s.email: store.ledger.deliveries_of(issue, s.id) for s in store.subscribers.listed()}
        finally:
            store.dispose()


@pytest.fixture
def mail(run_cli, mail_env, smtp, db_url):
    m = Mail(run_cli, mail_env, smtp[0], db_url)
    result = m.cli("fetch", "--file", str(MARCH), "--date", DAY)
    assert result.exit_code == 0, result.output
    return m


def html_part(msg: Message) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return part.get_content()


def arxiv_ids(path) -> set[str]:
    return {listing.paper.arxiv_id for listing in parse_api(path.read_text(encoding="utf-8")).listings}


def test_every_active_subscriber_receives_exactly_one_and_a_rerun_sends_nothing(mail):
    for i in range(5):
        mail.subscribe(f"reader{i}@example.org")
    mail.subscribe("waiting@example.org", extra=["--pending"])
    first = mail.send()
    assert "send: 5 sent, 0 deferred, 0 failed, 0 skipped" in first.stdout
    got = mail.handler.by_recipient()
    # The pending reader got the confirmation email `add --pending` sends, and no digest.
    (confirmation,) = got.pop("waiting@example.org")
    assert confirmation.parsed()["Subject"].startswith("Confirm your subscription")
    assert sorted(got) == [f"reader{i}@example.org" for i in range(5)]
    assert all(len(msgs) == 1 for msgs in got.values())

    second = mail.send()
    assert "send: 0 sent" in second.stdout
    assert len(mail.handler.received) == 6


def test_the_message_has_both_parts_and_the_list_headers(mail):
    mail.subscribe("ada@example.org")
    mail.send()
    [item] = mail.handler.received
    msg = item.parsed()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    assert msg["List-Unsubscribe"].startswith("<https://papers.example.org/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Id"]
    assert msg["Message-ID"] == f"<digest.{DAY}.1.{LIST_KEY}@example.org>"
    assert msg["Date"] and msg["To"] == "ada@example.org"
    assert msg["Subject"].startswith("Your papers for Tue 11 Mar")
    assert "papers@example.org" in msg["From"]
    assert "https://papers.example.org/manage/" in html_part(msg)


def test_scraped_markup_arrives_inert(mail, tmp_path):
    items = json.loads(MARCH.read_text())
    items[0]["paper"]["title"] = "<script>alert(1)</script> LLM reasoning & agents"
    items[0]["paper"]["githubRepo"] = "javascript:alert(1)"
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(items))
    assert mail.cli("fetch", "--file", str(hostile), "--date", DAY).exit_code == 0
    mail.subscribe("eve@example.org", "LLM reasoning")
    mail.send()
    [item] = mail.handler.received
    msg = item.parsed()
    html = html_part(msg)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "javascript:" not in html.lower()


def test_unsubscribed_between_runs_receives_nothing_more(mail):
    mail.subscribe("stay@example.org")
    mail.subscribe("leave@example.org")
    mail.handler.script["leave@example.org"] = ["451"]
    mail.send()
    assert [r.recipient for r in mail.handler.received] == ["stay@example.org"]
    store = mail.store()
    sub = store.subscribers.by_email("leave@example.org")
    store.subscribers.set_status(sub.id, "unsubscribed", mail.now)
    store.dispose()
    mail.now += timedelta(hours=2)
    result = mail.send()
    assert "1 skipped" in result.stdout
    assert [r.recipient for r in mail.handler.received] == ["stay@example.org"]


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


def test_a_sender_with_an_international_domain_sends_in_its_idna_form(mail, tmp_path):
    # from_address as its owner writes it; Message-ID, From and MAIL FROM need the ASCII (xn--) form.
    unicode_sender = {"NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@bücher.de"}
    mail.subscribe("ada@example.org")
    eml = tmp_path / "preview.eml"
    preview = mail.cli(
        "preview", "--email", "ada@example.org", "--date", DAY, "--out", str(eml), env=unicode_sender
    )
    assert preview.exit_code == 0, preview.output
    assert "send: 1 sent, 0 deferred, 0 failed" in mail.send(env=unicode_sender).stdout
    [item] = mail.handler.received
    assert item.data.isascii()
    msg = item.parsed()
    assert msg["Message-ID"] == f"<digest.{DAY}.1.{LIST_KEY}@xn--bcher-kva.de>"
    assert msg["From"].addresses[0].addr_spec == "papers@xn--bcher-kva.de"
    assert eml.read_bytes() == item.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


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


def test_preview_is_byte_identical_to_the_sent_html(mail, tmp_path):
    mail.subscribe("same@example.org")
    before = tmp_path / "before.html"
    result = mail.cli("preview", "--email", "same@example.org", "--date", DAY, "--out", str(before))
    assert result.exit_code == 0, result.output
    # Let the wall clock move on: nothing in the email may depend on when it is built.
    time.sleep(1.1)
    mail.send()
    [item] = mail.handler.received
    sent_html = html_part(item.parsed())
    assert before.read_bytes() == sent_html.encode("utf-8")
    after = mail.cli("preview", "--email", "same@example.org", "--date", DAY)
    assert after.stdout_bytes == sent_html.encode("utf-8")
    text = mail.cli("preview", "--email", "same@example.org", "--date", DAY, "--text").stdout_bytes
    assert text == item.parsed().get_body(("plain",)).get_content().encode("utf-8")


def test_a_preview_into_an_eml_file_is_the_message_send_delivers(mail, tmp_path):
    mail.subscribe("same@example.org")
    eml = tmp_path / "preview.EML"
    result = mail.cli("preview", "--email", "same@example.org", "--date", DAY, "--out", str(eml))
    assert result.exit_code == 0, result.output
    mail.send()
    [item] = mail.handler.received
    # Byte for byte, the message the relay received: headers (Message-ID included) and both parts.
    assert eml.read_bytes() == item.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert email.message_from_bytes(eml.read_bytes(), policy=default)["Message-ID"] == item.message_id
    refused = mail.cli("preview", "--email", "same@example.org", "--date", DAY, "--text", "--out", str(eml))
    assert refused.exit_code == 2 and "an .eml file holds both parts" in refused.stderr


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


def test_an_empty_only_is_refused_not_widened_to_everyone(mail):
    mail.subscribe("a@example.org")
    mail.subscribe("b@example.org")
    for empty in ("", "  "):
        refused = mail.cli("send", "--date", DAY, "--only", empty)
        assert refused.exit_code == 2 and "--only: the address is empty" in refused.stderr
    store = mail.store()
    try:
        assert store.issues.find_issue(MORNING.date()) is None  # nothing frozen, nothing queued
    finally:
        store.dispose()
    assert mail.handler.received == []


def test_starttls_never_falls_back_to_plaintext(mail):
    mail.subscribe("tls@example.org")
    result = mail.send(env={"NEWSLETTER_SMTP_SECURITY": "starttls"}, code=5)
    assert "does not offer STARTTLS" in result.stdout
    assert mail.handler.received == []
    assert mail.handler.attempts == {}


def test_plaintext_to_a_remote_host_is_refused_by_config(mail):
    result = mail.cli("send", "--date", DAY, env={"NEWSLETTER_SMTP_HOST": "smtp.example.org"})
    assert result.exit_code == 2
    assert "allowed only for localhost" in result.stderr


SKIP_EMPTY_DAY = {"NEWSLETTER_ISSUE_EMPTY_DAY": "skip"}


def test_empty_day_sends_trending_or_nothing_per_config(mail):
    mail.subscribe("nomatch@example.org", "marine biology of coral reefs")
    result = mail.send()
    assert "1 sent" in result.stdout
    [item] = mail.handler.received
    assert item.parsed()["Subject"].startswith("Nothing on your topics today")
    mail.subscribe("nomatch2@example.org", "marine biology of coral reefs")
    preview = mail.cli("preview", "--email", "nomatch2@example.org", "--date", DAY, env=SKIP_EMPTY_DAY)
    assert preview.exit_code == 1 and preview.stdout == ""
    said = f"nomatch2@example.org gets no email on {DAY}: nothing on their topics (empty_day = skip)"
    assert said in preview.stderr
    # A date with no papers at all is not "nothing on their topics".
    empty = mail.cli("preview", "--email", "nomatch2@example.org", "--date", "2020-01-01")
    assert empty.exit_code == 1
    assert "no papers listed for the issue of 2020-01-01: run `newsletter fetch` first" in empty.stderr
    skip = mail.send(env=SKIP_EMPTY_DAY)
    assert "0 sent" in skip.stdout
    assert "skipped: nothing on their topics (empty_day = skip)" in skip.stderr
    assert len(mail.handler.received) == 1


def _papers_in(received) -> list[str]:
    """The arXiv ids an email links to, in order."""
    text = received.parsed().get_body(("plain",)).get_content()
    return list(dict.fromkeys(re.findall(r"huggingface\.co/papers/(\d{4}\.\d{4,5})", text)))


def test_a_trending_only_email_never_repeats_a_paper_the_reader_had(mail):
    mail.subscribe("nomatch@example.org", "marine biology of coral reefs")
    mail.subscribe("ada@example.org")
    mail.send()
    first = {r.recipient: _papers_in(r) for r in mail.handler.received}
    assert len(first["nomatch@example.org"]) == 3
    # The next day lists the same papers again (a quiet day): each reader gets only what they had not.
    mail.now += timedelta(days=1)
    assert mail.cli("fetch", "--file", str(MARCH), "--date", "2025-03-12").exit_code == 0
    assert mail.cli("send", "--date", "2025-03-12").exit_code == 0
    second = {r.recipient: _papers_in(r) for r in mail.handler.received[2:]}
    assert len(second["nomatch@example.org"]) == 3
    assert not set(second["nomatch@example.org"]) & set(first["nomatch@example.org"])
    # A digest's "trending overall" papers count as had too.
    assert not set(second.get("ada@example.org", [])) & set(first["ada@example.org"])


def test_picks_after_the_send_shows_the_papers_the_reader_got(mail):
    mail.subscribe("ada@example.org")
    before = mail.cli("picks", "--email", "ada@example.org", "--date", DAY, "--json")
    mail.send()
    [received] = mail.handler.received
    after = mail.cli("picks", "--email", "ada@example.org", "--date", DAY, "--json")
    assert after.exit_code == 0, after.output
    got = [json.loads(line)["arxiv_id"] for line in after.stdout.splitlines()]
    # The same papers as before the send, as in the email, and not "nothing on her topics".
    assert got and got == [json.loads(line)["arxiv_id"] for line in before.stdout.splitlines()]
    assert set(got) <= set(_papers_in(received))
    assert f"the email of {DAY} to ada@example.org is sent; these are its papers" in after.stderr


def test_a_send_refused_for_want_of_papers_leaves_no_issue_behind(mail):
    mail.subscribe("ada@example.org")
    refused = mail.cli("send", "--date", "2025-04-20")
    assert refused.exit_code == 1 and "no papers listed for the issue of 2025-04-20" in refused.stderr
    # Not an empty, open issue on the dashboard and in `issue`: nothing started.
    status = mail.cli("issue", "--date", "2025-04-20")
    assert "issue 2025-04-20: not started" in status.stdout
    store = mail.store()
    try:
        assert [r.issue_date for r, _counts in store.ledger.recent_issues()] == []
    finally:
        store.dispose()


def test_send_gives_weekly_readers_only_their_weekday_unless_named(mail):
    mail.subscribe("daily@example.org")
    # 11 March 2025 is a Tuesday.
    mail.subscribe("friday@example.org", extra=["--cadence", "weekly", "--weekday", "fri"])
    mail.subscribe("tuesday@example.org", extra=["--cadence", "weekly", "--weekday", "tue"])
    dry = mail.send("--dry-run")
    assert "would send 2 digests" in dry.stdout
    assert "(1 weekly reader waits for their weekday)" in dry.stdout
    queued = mail.send("--queue-only")
    assert "queue: 2 digests" in queued.stdout
    assert "1 weekly reader waits for their weekday" in queued.stdout
    sent = mail.send()
    assert "2 sent" in sent.stdout
    # The rerun queues nobody twice, and says why it queued nobody.
    assert "queue: 0 digests, 0 trending-only, 0 skipped (no match)" in sent.stderr
    assert "2 readers already queued by an earlier run" in sent.stderr
    assert {r.recipient for r in mail.handler.received} == {"daily@example.org", "tuesday@example.org"}
    # Naming the reader is the admin's explicit choice: it goes out on any day.
    assert "1 sent" in mail.send("--only", "friday@example.org").stdout
    assert [r.recipient for r in mail.handler.received].count("friday@example.org") == 1
    # On Friday the 14th, the Friday reader's own day, a plain send reaches them and not the Tuesday one.
    friday = "2025-03-14"
    fetched = mail.cli("fetch", "--file", str(HF_API / "daily_papers_2025-05-30.json"), "--date", friday)
    assert fetched.exit_code == 0, fetched.output
    before = len(mail.handler.received)
    assert "2 sent" in mail.cli("send", "--date", friday).stdout
    on_friday = {r.recipient for r in mail.handler.received[before:]}
    assert on_friday == {"daily@example.org", "friday@example.org"}


def test_only_and_dry_run(mail):
    mail.subscribe("a@example.org")
    mail.subscribe("b@example.org")
    dry = mail.send("--dry-run")
    assert "would send 2 digests" in dry.stdout
    assert mail.handler.received == []
    mail.send("--only", "B@example.org")
    assert [r.recipient for r in mail.handler.received] == ["b@example.org"]
    # The dry run predicts what the real send then does: b has had the issue, only a is left.
    again = mail.send("--dry-run")
    assert "would send 1 digest and 0 trending-only emails, skip 0" in again.stdout
    assert "(1 reader already queued by an earlier run)" in again.stdout
    assert "1 sent" in mail.send().stdout


def test_outbox_is_the_default_transport(run_cli, tmp_path):
    assert run_cli("fetch", "--file", str(MARCH), "--date", DAY).exit_code == 0
    run_cli("subscribers", "add", "box@example.org", "--topic", "LLM")
    result = run_cli("send", "--date", DAY, clock=lambda: MORNING)
    assert result.exit_code == 0, result.output
    # As config.toml says: one file per message, named after its Message-ID, no subfolder per issue.
    files = list((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == [f"digest.2025-03-11.1.{LIST_KEY}_newsletter.invalid.eml"]
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in files[0].read_bytes()


def test_issue_shows_status_and_counts(mail):
    mail.subscribe("c@example.org")
    size = len(arxiv_ids(MARCH))
    assert (
        f"not started; so far {size} papers, {size} of them in the daily window"
        in mail.cli("issue", "--date", DAY).stdout
    )
    # Papers listed 5 days before the issue are in its pool, for weekly readers only.
    assert (
        mail.cli(
            "fetch", "--file", str(HF_API / "daily_papers_2025-05-30.json"), "--date", "2025-03-06"
        ).exit_code
        == 0
    )
    more = len(arxiv_ids(MARCH) | arxiv_ids(HF_API / "daily_papers_2025-05-30.json"))
    mail.send()
    out = mail.cli("issue", "--date", DAY).stdout
    assert f"frozen at 2025-03-11 07:00 UTC; {more} papers, {size} of them in the daily window" in out
    assert "sent 1" in out


def test_weekly_readers_get_the_whole_week_and_daily_readers_only_the_window(mail):
    # Another day's papers, listed 6 days before the issue: inside the weekly window (9 days),
    # outside the daily one (3). A third day's, listed 10 days before, is outside both.
    week_old = HF_API / "daily_papers_2025-05-30.json"
    too_old = HF_API / "daily_papers_2025-07-22.json"
    for path, day in ((week_old, "2025-03-05"), (too_old, "2025-03-01")):
        result = mail.cli("fetch", "--file", str(path), "--date", day)
        assert result.exit_code == 0, result.output
    older = arxiv_ids(week_old) - arxiv_ids(MARCH)
    oldest = arxiv_ids(too_old) - arxiv_ids(MARCH) - arxiv_ids(week_old)
    # 11 March 2025 is a Tuesday: both readers are due.
    mail.subscribe("daily@example.org", extra=["--per-email", "30"])
    weekly = ["--per-email", "30", "--cadence", "weekly", "--weekday", "tue"]
    mail.subscribe("weekly@example.org", extra=weekly)
    assert "2 sent" in mail.send().stdout

    shown = {
        email: set(re.findall(r"arxiv\.org/abs/([0-9.]+)", html_part(only.parsed())))
        for email, [only] in mail.handler.by_recipient().items()
    }
    assert shown["daily@example.org"] and not shown["daily@example.org"] & (older | oldest)
    assert shown["weekly@example.org"] & older
    assert not shown["weekly@example.org"] & oldest
    # The frozen pool keeps each paper's listing day: previewing after the send shows the same split.
    weekly_preview = mail.cli("picks", "--email", "weekly@example.org", "--date", DAY).stdout
    daily_preview = mail.cli("picks", "--email", "daily@example.org", "--date", DAY).stdout
    assert any(arxiv in weekly_preview for arxiv in older)
    assert not any(arxiv in daily_preview for arxiv in older | oldest)


def test_papers_imported_for_a_later_day_send_without_a_new_fetch_but_a_repeat_waits(mail):
    # Imported together, before the first send: no fetch happens after the 11 March issue froze.
    later = HF_API / "daily_papers_2025-05-30.json"
    assert mail.cli("fetch", "--file", str(later), "--date", "2025-05-30").exit_code == 0
    mail.subscribe("ada@example.org")
    mail.now += timedelta(hours=1)
    mail.send()
    mail.now += timedelta(hours=1)
    # The 30 May pool holds papers the 11 March issue never had: not a repeat, so it goes out.
    sent = mail.cli("send", "--date", "2025-05-30")
    assert sent.exit_code == 0, sent.output
    assert "1 sent" in sent.stdout and len(mail.handler.by_recipient()["ada@example.org"]) == 2
    # 12 March would draw only on the papers the 11 March issue held: with no fetch since, it waits.
    for dry in (("--dry-run",), ()):  # the dry run reaches the same verdict as the send
        stale = mail.cli("send", "--date", "2025-03-12", *dry)
        assert stale.exit_code == 1 and "the sources may be down" in stale.output
