"""An issue the prune has removed ledger rows of is closed: `send --date` queues nobody for it again,
so a prune that forgot who had it cannot make it go out twice. Rows queued before still go out. An
old day sent for the first time, or to more readers after a first --only, is not closed. On SQLite and
on PostgreSQL (skipped with the reason when there is none).
"""

from __future__ import annotations

from datetime import timedelta

from newsletter.store.retention import prune
from newsletter.store.retention_ledger import prune_ledger
from newsletter.subscribers import preferences
from tests import retention_support
from tests.retention_support import NOW, OLD, OLD_QUEUED, OLD_RELISTED, TODAY, TOPICS, History, at

# `history` is a pytest fixture: a module's own name for it, so pytest finds it here.
history = retention_support.history


def test_an_issue_whose_rows_were_pruned_is_not_sent_again_even_with_its_papers_still_there(
    history: History,
) -> None:
    store, run = history.store, history.run
    emails = sorted(history.outbox.iterdir())
    # Before any prune, an old day is open: bob, who joined today, may be sent it, as in the tour.
    dry = run("send", "--date", OLD.isoformat(), "--dry-run", clock=lambda: NOW)
    assert dry.exit_code == 0 and "would send 1 digest" in dry.output
    # The prune's ledger step removed ada's row, and the process stopped before it removed the pool
    # (a crash, a restart): the papers are still there, who had them is not.
    assert prune_ledger(store, TODAY - timedelta(days=180), False, 1000).deliveries >= 1
    closed = run("send", "--date", OLD.isoformat(), clock=lambda: NOW)

    assert closed.exit_code == 1, closed.output
    assert (
        f"the issue of {OLD} went out {OLD}, and the prune has removed part of its history" in closed.output
    )
    assert "nobody is queued for it again" in closed.output
    dry = run("send", "--date", OLD.isoformat(), "--dry-run", clock=lambda: NOW)
    assert dry.exit_code == 1 and "nobody is queued for it again" in dry.output
    assert sorted(history.outbox.iterdir()) == emails
    issue, bob = store.issues.find_issue(OLD), store.subscribers.by_email("bob@example.org")
    assert issue is not None and bob is not None and store.ledger.deliveries_of(issue, bob.id) == []


def test_an_old_day_sent_first_to_one_reader_can_then_go_to_the_rest(history: History) -> None:
    store, run = history.store, history.run
    store.subscribers.add("cy@example.org", preferences(TOPICS, timezone="UTC", hour=7), "active", NOW)
    # The tour's way with a saved old day: first to oneself, then to everyone; no prune in between.
    first = run("send", "--date", OLD_RELISTED.isoformat(), "--only", "bob@example.org", clock=lambda: NOW)
    assert first.exit_code == 0 and "send: 1 sent" in first.output, first.output
    rest = run("send", "--date", OLD_RELISTED.isoformat(), clock=lambda: NOW)
    assert rest.exit_code == 0 and "send: 1 sent" in rest.output, rest.output  # cy; ada had it
    issue, cy = store.issues.find_issue(OLD_RELISTED), store.subscribers.by_email("cy@example.org")
    assert issue is not None and cy is not None
    assert [d.status for d in store.ledger.deliveries_of(issue, cy.id)] == ["sent"]


def test_a_pruned_issue_with_an_email_still_queued_sends_only_that_one(history: History) -> None:
    store, run = history.store, history.run
    # Back then, bob was queued too, late, and his email never went (a worker died; a relay was down).
    late = run(
        "send", "--date", OLD.isoformat(), "--only", "bob@example.org", "--queue-only", clock=lambda: at(OLD)
    )
    assert late.exit_code == 0, late.output
    issue = store.issues.find_issue(OLD)
    assert issue is not None and store.history.counts(issue)["sent"] == 1

    pruned = prune(store, 180, NOW)

    # While bob's row waits, ada's finished row stays: it is what says she had the issue.
    assert pruned.deliveries == 0
    counts = store.history.counts(issue)
    assert (counts["sent"], counts["queued"]) == (1, 1)
    emails = sorted(history.outbox.iterdir())
    sent = run("send", "--date", OLD.isoformat(), clock=lambda: NOW)
    assert sent.exit_code == 0, sent.output
    assert "1 sent" in sent.output
    new = sorted(set(history.outbox.iterdir()) - set(emails))
    assert len(new) == 1 and "bob@example.org" in new[0].read_text()
    assert store.history.counts(issue)["sent"] == 2  # ada's once, bob's once
    assert prune(store, 180, NOW).deliveries == 2  # now that none waits, the issue's rows go
    # The issue of 190 days ago, whose email to ada waited all along, was never pruned: it is open, and
    # an explicit send sends ada's email and one to bob, who joined since.
    again = run("send", "--date", OLD_QUEUED.isoformat(), clock=lambda: NOW)
    assert again.exit_code == 0 and "send: 2 sent" in again.output
