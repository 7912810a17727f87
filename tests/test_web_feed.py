"""A reader's Atom feed (/feed/<token>.xml): the digests sent to them, each named as it was sent."""

from __future__ import annotations

from xml.etree import ElementTree

from sqlalchemy import update

from newsletter.store.schema import deliveries
from newsletter.subscribers import preferences
from tests.conftest import HF_API
from tests.web_support import NOW, reader

MARCH = HF_API / "daily_papers_2025-03-11.json"


def titles(world, sub):
    feed = world.client.get(f"/feed/{world.svc.signer().mint('feed', sub)}.xml")
    assert feed.status_code == 200
    atom = "{http://www.w3.org/2005/Atom}"
    entries = ElementTree.fromstring(feed.content).findall(f"{atom}entry")
    for entry in entries:
        # A feed reader opens the entry's link: the digest's top pick on Hugging Face.
        link = entry.find(f"{atom}link[@rel='alternate']")
        assert link is not None and link.get("href", "").startswith("https://huggingface.co/papers/")
        assert f'href="{link.get("href")}"' in entry.findtext(f"{atom}content", "")
    return [entry.findtext(f"{atom}title") for entry in entries]


def test_the_feed_lists_sent_digests_named_by_cadence(world, run_cli):
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    daily = reader(world, timezone="UTC", email="d@example.org")
    # 11 March 2025 is a Tuesday.
    weekly_prefs = preferences(["LLM reasoning"], timezone="UTC", hour=7, cadence="weekly", weekday="tue")
    weekly = world.store.subscribers.add("w@example.org", weekly_prefs, "active", NOW)
    assert "2 sent" in run_cli("send", "--date", "2025-03-11").stdout  # to the outbox

    assert titles(world, daily) == ["Papers for Tue 11 Mar 2025"]
    assert titles(world, weekly) == ["Your week of papers to Tue 11 Mar 2025"]


def test_switching_cadence_renames_no_email_already_queued_or_sent(world, run_cli, smtp):
    handler, _ = smtp
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    sub = reader(world, timezone="UTC", email="d@example.org")
    assert "1 sent" in run_cli("send", "--date", "2025-03-11").stdout
    # Queued as a daily email on Wednesday; the reader turns weekly (on Wednesdays) before it goes.
    assert "queue: 1 digest" in run_cli("send", "--date", "2025-03-12", "--queue-only").stdout
    weekly = preferences(["LLM reasoning"], timezone="UTC", hour=7, cadence="weekly", weekday="wed")
    world.store.subscribers.set_preferences(sub.id, weekly, NOW)
    smtp_env = {"NEWSLETTER_DELIVERY_TRANSPORT": "smtp", "NEWSLETTER_SMTP_HOST": "127.0.0.1",
                "NEWSLETTER_SMTP_PORT": str(smtp[1].port), "NEWSLETTER_SMTP_SECURITY": "none"}  # fmt: skip
    sent = run_cli("worker", "--until-done", env=smtp_env)
    assert sent.exit_code == 0, sent.output
    (mail,) = [r.parsed() for r in handler.received if r.recipient == "d@example.org"]
    assert mail["Subject"].startswith("Your papers for Wed 12 Mar")  # as it was chosen: a day's papers
    assert titles(world, sub) == ["Papers for Wed 12 Mar 2025", "Papers for Tue 11 Mar 2025"]

    # An email from before the ledger kept the cadence is named by the reader's cadence now.
    with world.store.write() as conn:
        conn.execute(update(deliveries).values(cadence=None))
    assert titles(world, sub)[0] == "Your week of papers to Wed 12 Mar 2025"


def test_the_feed_writes_dates_as_the_email_does(world, run_cli):
    october = HF_API / "daily_papers_2025-10-03.json"
    assert run_cli("fetch", "--file", str(october), "--date", "2025-10-03").exit_code == 0
    sub = reader(world, timezone="UTC", email="o@example.org")
    assert "1 sent" in run_cli("send", "--date", "2025-10-03").stdout
    assert titles(world, sub) == ["Papers for Fri 3 Oct 2025"]  # as the email's header: no "03"
