"""Who gets which email: each active reader one per issue and a rerun none, `--only` and `--dry-run`, weekly
readers on their weekday with the whole week's papers, the trending-only email that never repeats a paper,
and a send with no papers to draw on, which starts no issue. Sent to a real aiosmtpd server on loopback,
with real SQLite and the real fixtures.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from newsletter.scrape import parse_api
from tests import deliver_support
from tests.conftest import HF_API
from tests.deliver_support import DAY, MARCH, MORNING, html_part

# The fixtures, from the module that holds them: a CLI, a loopback relay and the day's papers.
mail_env = deliver_support.mail_env
mail = deliver_support.mail


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
        assert [r.issue_date for r, _counts in store.history.recent_issues()] == []
    finally:
        store.dispose()
