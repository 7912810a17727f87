"""An issue older than keep_days that went out is closed: `send --date` queues nobody for it again, so
neither a prune that removed who had it, nor a reader who joined since, can make it go out twice.
Rows queued before still go out. On SQLite and on PostgreSQL (skipped with the reason when there is none).
"""

from __future__ import annotations

from newsletter.store.retention import prune
from tests import retention_support
from tests.retention_support import NOW, OLD, OLD_QUEUED, History, at

# `history` is a pytest fixture: a module's own name for it, so pytest finds it here.
history = retention_support.history


def test_an_old_issue_that_went_out_is_not_sent_to_a_reader_who_joined_since(history: History) -> None:
    store, run = history.store, history.run
    emails = sorted(history.outbox.iterdir())
    # No prune has run: the 220-day-old issue still has its pool and ada's row. Bob joined today.
    closed = run("send", "--date", OLD.isoformat(), clock=lambda: NOW)

    assert closed.exit_code == 1, closed.output
    assert f"the issue of {OLD} went out {OLD} and is older than [database] keep_days (180)" in closed.output
    assert "nobody is queued for it again" in closed.output
    dry = run("send", "--date", OLD.isoformat(), "--dry-run", clock=lambda: NOW)
    assert dry.exit_code == 1 and "nobody is queued for it again" in dry.output
    assert sorted(history.outbox.iterdir()) == emails
    issue, bob = store.issues.find_issue(OLD), store.subscribers.by_email("bob@example.org")
    assert issue is not None and bob is not None and store.ledger.deliveries_of(issue, bob.id) == []
    # With keep_days = 0 nothing is ever pruned, and an old issue stays open to new readers.
    opened = run(
        "send", "--date", OLD.isoformat(), clock=lambda: NOW, env={"NEWSLETTER_DATABASE_KEEP_DAYS": "0"}
    )
    assert opened.exit_code == 0 and "1 sent" in opened.output


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
    # The queued issue of 190 days ago keeps going out too, to ada only.
    again = run("send", "--date", OLD_QUEUED.isoformat(), clock=lambda: NOW)
    assert again.exit_code == 0 and "1 sent" in again.output
