"""Retention: `newsletter prune` and the scheduler's daily prune remove old history, and nothing a reader
would miss: no paper comes twice, no queued email is lost, and old dates still answer clearly.

The core scenario runs on a real SQLite file and on PostgreSQL (skipped with the reason when there is none).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select, update

from newsletter.store.retention import prune
from newsletter.store.schema import deliveries, issues
from tests import retention_support
from tests.retention_support import (
    NOW,
    OLD,
    OLD_QUEUED,
    OLD_RELISTED,
    YESTERDAY,
    History,
    at,
    build_history,
    had,
    picks,
    pool_size,
    rows,
)
from tests.web_support import make_world

# `history` is a pytest fixture: a module's own name for it, so pytest finds it here.
history = retention_support.history


def test_prune_forgets_old_history_but_never_what_keeps_a_paper_from_coming_twice(history: History) -> None:
    store, run, got = history.store, history.run, history.got
    assert all(got[day] for day in (OLD, OLD_RELISTED, YESTERDAY)) and not got[OLD_QUEUED]
    before = rows(store)

    result = run("prune", clock=lambda: NOW)

    assert result.exit_code == 0, result.output
    # Ada's email of 220 days ago goes; 205 days ago stays while one of its papers is listed again.
    pooled = before["issue_papers"] - pool_size(store, OLD_QUEUED) - pool_size(store, YESTERDAY)
    assert result.stdout == (
        f"prune: 1 delivery, {len(got[OLD])} sent-paper records, {pooled} pooled papers of old issues, "
        "4 fetches, 0 pending sign-ups removed; 1 delivery kept while its papers are still listed\n"
    )
    after = rows(store)
    assert after["deliveries"] == before["deliveries"] - 1
    assert had(store, "ada@example.org") == got[OLD_RELISTED] | got[YESTERDAY]
    # The four fetches of over 180 days ago go; yesterday's, the last that succeeded, stays.
    assert after["fetches"] == before["fetches"] - 4 == 1

    # What a reader would check: nothing she had yesterday, or 205 days ago and trending again, comes again.
    offered_to_bob = set(picks(run, "bob@example.org"))
    already = got[YESTERDAY] | {history.relisted}
    assert offered_to_bob & got[YESTERDAY] and history.relisted in offered_to_bob
    assert not set(picks(run, "ada@example.org")) & already


def test_a_queued_email_survives_the_prune_and_still_goes_out(history: History) -> None:
    store, run = history.store, history.run
    pool = pool_size(store, OLD_QUEUED)
    assert run("prune", clock=lambda: NOW).exit_code == 0
    assert pool_size(store, OLD_QUEUED) == pool > 0
    issue = store.issues.find_issue(OLD_QUEUED)
    assert issue is not None and store.history.counts(issue)["queued"] == 1

    result = run("send", "--date", OLD_QUEUED.isoformat(), clock=lambda: NOW)

    assert result.exit_code == 0, result.output
    ada = store.subscribers.by_email("ada@example.org")
    assert ada is not None and [d.status for d in store.ledger.deliveries_of(issue, ada.id)] == ["sent"]


def test_a_pruned_day_answers_clearly_and_is_never_sent_again(history: History) -> None:
    store, run = history.store, history.run
    assert run("prune", clock=lambda: NOW).exit_code == 0
    emails = sorted(history.outbox.iterdir())

    shown = run("preview", "--email", "ada@example.org", "--date", OLD.isoformat(), clock=lambda: NOW)
    chosen = run("picks", "--email", "ada@example.org", "--date", OLD.isoformat(), clock=lambda: NOW)
    status = run("issue", "--date", OLD.isoformat(), clock=lambda: NOW)
    again = run("send", "--date", OLD.isoformat(), clock=lambda: NOW)

    # One line, no traceback, saying what happened: the day went out, its papers were pruned since.
    gone = f"error: the issue of {OLD} went out {at(OLD):%Y-%m-%d}; its papers were removed since"
    for result in (shown, chosen, again):
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(gone), result.stderr
        assert result.stderr.count("\n") == 1
    assert status.exit_code == 0
    assert status.stdout.startswith(f"issue {OLD}: frozen at {at(OLD):%Y-%m-%d %H:%M} UTC; 0 papers")
    # "sent 0" of an issue that went out: the status says why the counts are empty.
    assert status.stdout.endswith("the prune has removed its finished rows ([database] keep_days = 180)\n")
    # The issue's row is kept: a send for that day finds it, and sends nobody anything, nor queues a row.
    assert sorted(history.outbox.iterdir()) == emails
    issue = store.issues.find_issue(OLD)
    assert issue is not None and sum(store.history.counts(issue).values()) == 0
    assert had(store, "ada@example.org") == history.got[OLD_RELISTED] | history.got[YESTERDAY]


def test_the_admin_preview_of_a_pruned_day_says_its_papers_were_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: tuple[Any, Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    history = build_history(f"sqlite:///{tmp_path / 'newsletter.db'}", tmp_path)
    assert history.run("prune", clock=lambda: NOW).exit_code == 0
    world = make_world(history.url, smtp[1].port, clock=lambda: NOW)
    world.login()
    page = world.client.get("/admin/preview", params={"date": OLD.isoformat(), "email": "ada@example.org"})
    assert page.status_code == 200
    said = BeautifulSoup(page.text, "html.parser").select_one("#no-email")
    assert said is not None
    assert said.get_text(" ", strip=True).startswith(
        f"The issue of {OLD} went out {OLD}; its papers were removed"
    )
    assert "Fetch them" not in said.get_text()  # fetching would not bring an old issue's pool back
    world.store.dispose()
    history.store.dispose()


def test_dry_run_removes_nothing_and_counts_what_prune_then_removes(history: History) -> None:
    store, run = history.store, history.run
    before = rows(store)

    dry = run("prune", "--dry-run", clock=lambda: NOW)

    assert dry.exit_code == 0, dry.output
    assert rows(store) == before
    real = run("prune", clock=lambda: NOW)
    assert dry.stdout.startswith("prune: dry run: would remove ") and dry.stdout.endswith(
        "; nothing removed\n"
    )
    counts = dry.stdout.removeprefix("prune: dry run: would remove ").removesuffix("; nothing removed\n")
    assert real.stdout == f"prune: {counts.replace('; 1 delivery kept', ' removed; 1 delivery kept')}\n"
    assert rows(store) != before
    # A second prune finds nothing more to remove.
    assert run("prune", clock=lambda: NOW).stdout.startswith(
        "prune: 0 deliveries, 0 sent-paper records, 0 pooled"
    )


def test_keep_days_0_keeps_everything(history: History) -> None:
    store, run = history.store, history.run
    before = rows(store)

    result = run("prune", clock=lambda: NOW, env={"NEWSLETTER_DATABASE_KEEP_DAYS": "0"})

    assert result.exit_code == 0
    assert result.stdout == "prune: [database] keep_days is 0, so everything is kept; nothing removed\n"
    assert rows(store) == before
    assert prune(store, 0, NOW + timedelta(days=3650)).line() == (
        "prune: 0 deliveries, 0 sent-paper records, 0 pooled papers of old issues, 0 fetches, "
        "0 pending sign-ups removed"
    )
    assert rows(store) == before


def test_the_feed_lists_the_digests_that_are_kept(history: History) -> None:
    assert history.run("prune", clock=lambda: NOW).exit_code == 0
    web = make_world(history.url, smtp_port=1)  # reading a feed sends no mail
    ada = web.store.subscribers.by_email("ada@example.org")
    assert ada is not None

    feed = web.client.get(f"/feed/{web.svc.signer().mint('feed', ada)}.xml")

    web.client.close()
    web.store.dispose()
    assert feed.status_code == 200
    atom = "{http://www.w3.org/2005/Atom}"
    entries = ElementTree.fromstring(feed.content).findall(f"{atom}entry")
    days = [entry.findtext(f"{atom}id", "").rsplit("#", 1)[1] for entry in entries]
    assert days == [YESTERDAY.isoformat(), OLD_RELISTED.isoformat()]
    # A kept digest still lists its papers: papers are never pruned.
    assert history.relisted in feed.text


def test_finished_rows_go_but_deferred_and_claimed_ones_stay(history: History) -> None:
    store = history.store
    # Make ada's old email of 220 days ago one that is still being retried, then one being sent.
    for status in ("deferred", "sending"):
        with store.write() as conn:
            old_issue = select(issues.c.id).where(issues.c.issue_date == OLD).scalar_subquery()
            conn.execute(update(deliveries).where(deliveries.c.issue_id == old_issue).values(status=status))
        pruned = prune(store, 180, NOW)
        assert pruned.deliveries == 0
        assert had(store, "ada@example.org") >= history.got[OLD]
        assert pool_size(store, OLD) > 0
