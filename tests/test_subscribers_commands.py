"""The subscribers commands on a real SQLite file: `add` (active, or pending and mailed the confirmation link,
with a warning when that mail links to localhost), `set`, `set-topics`, `remove`, `list`, and the bulk import.
"""

from __future__ import annotations

import email
import re
from email.policy import default

import pytest

from newsletter.subscribers import preferences
from tests.conftest import FIXED_NOW
from tests.subscribers_support import listed


def test_add_creates_an_active_subscriber_with_defaults(run_cli):
    result = run_cli("subscribers", "add", "Ada@Example.COM", "--topic", "LLM reasoning", "--topic", "speech")
    assert result.exit_code == 0, result.output
    [sub] = listed(run_cli)
    assert sub["email"] == "Ada@example.com"
    assert sub["status"] == "active"
    assert sub["topics"] == ["LLM reasoning", "speech"]
    assert (sub["timezone"], sub["hour"], sub["cadence"], sub["per_email"]) == ("UTC", 7, "daily", 10)
    assert sub["confirmed_at"] is not None


def test_all_options_are_stored(run_cli):
    result = run_cli(
        "subscribers", "add", "cy@example.org", "--topic", "robot manipulation", "--exclude", "-survey",
        "--exclude", "medical", "--tz", "Asia/Kolkata", "--hour", "6", "--cadence", "weekly",
        "--weekday", "fri", "--per-email", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [sub] = listed(run_cli)
    assert sub["excludes"] == ["survey", "medical"]
    assert (sub["timezone"], sub["hour"], sub["cadence"], sub["weekday"], sub["per_email"]) == (
        "Asia/Kolkata", 6, "weekly", 4, 30,
    )  # fmt: skip


def test_pending_waits_for_confirmation_and_is_mailed_the_link(run_cli, tmp_path):
    env = {"NEWSLETTER_WEB_BASE_URL": "https://papers.example.org"}
    result = run_cli(
        "subscribers",
        "add",
        "Bo@Example.org",
        "--topic",
        "robotics",
        "--exclude",
        "survey",
        "--pending",
        env=env,
    )
    assert result.exit_code == 0, result.output
    [sub] = listed(run_cli)
    assert sub["status"] == "pending" and sub["confirmed_at"] is None
    # The web sign-up's email, in the default outbox.
    [eml] = (tmp_path / "outbox").glob("*.eml")
    assert f"sent a confirmation email to Bo@example.org (written to outbox/{eml.name})" in result.stdout
    msg = email.message_from_bytes(eml.read_bytes(), policy=default)
    assert msg["To"] == "Bo@example.org"
    assert msg["Subject"].startswith("Confirm your subscription")
    body = msg.get_body(("plain",))
    assert body is not None
    assert re.search(r"https://papers\.example\.org/confirm/\S+", body.get_content())
    # The topics are the sign-up's own words, so the email only counts them; the page shows them.
    said = "asked to receive trending ML papers on 1 topic at this address. The link below shows it."
    assert said in " ".join(body.get_content().split())
    assert "robotics" not in body.get_content() and "survey" not in body.get_content()


def test_a_confirmation_the_relay_refuses_is_an_error_and_the_reader_stays_pending(run_cli, smtp):
    handler, controller = smtp
    handler.script["bo@example.org"] = ["550"]
    env = {
        "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(controller.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
    }
    refused = run_cli("subscribers", "add", "bo@example.org", "--topic", "robotics", "--pending", env=env)
    assert refused.exit_code == 5, refused.output
    assert "error: could not send the confirmation email to bo@example.org: RCPT: 550 5.1.1" in refused.stderr
    assert "they stay pending" in refused.stderr
    [sub] = listed(run_cli)
    assert sub["status"] == "pending"
    assert handler.received == []
    # Removed and added again, the link goes out.
    assert run_cli("subscribers", "remove", "bo@example.org").exit_code == 0
    added = run_cli("subscribers", "add", "bo@example.org", "--topic", "robotics", "--pending", env=env)
    assert added.exit_code == 0, added.output
    assert "sent a confirmation email to bo@example.org\n" in added.stdout
    [received] = handler.received
    assert "/confirm/" in received.parsed().get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("extra", "warned"),
    [
        ({}, True),  # the default base_url, http://localhost:8000, in mail to a real relay
        ({"NEWSLETTER_WEB_BASE_URL": "https://papers.example.org"}, False),
        ({"NEWSLETTER_DELIVERY_TRANSPORT": "outbox"}, False),  # .eml files stay on this machine
    ],
)
def test_mail_through_a_relay_with_links_to_localhost_is_warned_about(run_cli, smtp, tmp_path, extra, warned):
    env = {
        "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(smtp[1].port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_DELIVERY_OUTBOX": str(tmp_path / "outbox"),
        **extra,
    }
    added = run_cli("subscribers", "add", "bo@example.org", "--topic", "robotics", "--pending", env=env)
    assert added.exit_code == 0, added.output
    warning = "warning: web.base_url is http://localhost:8000: the links in the mail sent through the relay"
    assert (warning in added.stderr) is warned
    assert ("set NEWSLETTER_WEB_BASE_URL" in added.stderr) is warned


def test_set_topics_and_remove(run_cli):
    run_cli("subscribers", "add", "dee@example.org", "--topic", "speech")
    result = run_cli("subscribers", "set-topics", "DEE@example.org", "--topic", "NeRF", "--exclude", "survey")
    assert result.exit_code == 0, result.output
    [sub] = listed(run_cli)
    assert (sub["topics"], sub["excludes"]) == (["NeRF"], ["survey"])
    removed = run_cli("subscribers", "remove", "DEE@EXAMPLE.org")
    assert removed.exit_code == 0
    assert removed.stdout == "subscribers: removed dee@example.org\n"  # as stored, not as typed
    assert listed(run_cli) == []
    missing = run_cli("subscribers", "remove", "dee@example.org")
    assert missing.exit_code == 2 and "no subscriber" in missing.stderr


def test_set_on_a_reader_who_gets_no_mail_says_so(run_cli):
    run_cli("subscribers", "add", "pat@example.org", "--topic", "robotics", "--pending")
    pending = run_cli("subscribers", "set", "pat@example.org", "--hour", "3")
    assert pending.exit_code == 0, pending.output
    said = "pat@example.org is pending (no mail is sent); would get up to 10 papers, daily at 03:00"
    assert said in pending.stdout


def test_set_changes_only_the_given_settings_and_refuses_bad_ones(run_cli):
    added = run_cli(
        "subscribers", "add", "gus@example.org", "--topic", "robotics", "--exclude", "survey", "--hour", "6"
    )
    assert added.exit_code == 0, added.output
    changed = run_cli("subscribers", "set", "GUS@example.org", "--cadence", "weekly", "--weekday", "fri",
                      "--tz", "Asia/Tokyo")  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert "gus@example.org now gets up to 10 papers, weekly on Fri at 06:00 Asia/Tokyo" in changed.stdout
    [sub] = listed(run_cli)
    assert (sub["cadence"], sub["weekday"], sub["timezone"], sub["hour"]) == ("weekly", 4, "Asia/Tokyo", 6)
    assert (sub["topics"], sub["excludes"], sub["per_email"]) == (["robotics"], ["survey"], 10)
    for args, message in (
        (["--hour", "24"], "hour: must be between 0 and 23"),
        (["--tz", "Mars/Base"], "timezone: unknown time zone 'Mars/Base'"),
        (["--per-email", "31"], "per_email"),
        (["--weekday", "someday"], "weekday: unknown weekday"),
        (["--weekday", "4"], "weekday: unknown weekday '4'; use mon, tue"),
        (["--tz", ""], "timezone: is empty; choose one"),
        ([], "nothing to change"),
    ):
        refused = run_cli("subscribers", "set", "gus@example.org", *args)
        assert refused.exit_code == 2 and message in refused.stderr, (args, refused.output)
    assert listed(run_cli) == [sub]  # nothing stored by a refused change
    missing = run_cli("subscribers", "set", "nobody@example.org", "--hour", "8")
    assert missing.exit_code == 2 and "no subscriber nobody@example.org" in missing.stderr
    missing = run_cli("subscribers", "set", "nobody@example.org", "--weekday", "tue")
    assert missing.exit_code == 2 and "no subscriber nobody@example.org" in missing.stderr


def test_a_weekday_for_a_daily_reader_is_refused_not_ignored(run_cli):
    hint = "--weekday is for weekly digests: add --cadence weekly"
    refused = run_cli("subscribers", "add", "hal@example.org", "--topic", "speech", "--weekday", "fri")
    assert refused.exit_code == 2 and hint in refused.stderr
    assert listed(run_cli) == []
    assert run_cli("subscribers", "add", "hal@example.org", "--topic", "speech").exit_code == 0
    [daily] = listed(run_cli)
    for args in (["--weekday", "fri"], ["--weekday", "fri", "--cadence", "daily"]):
        refused = run_cli("subscribers", "set", "hal@example.org", *args)
        assert refused.exit_code == 2 and hint in refused.stderr, args
    assert listed(run_cli) == [daily]
    # Once weekly, a reader's weekday can change on its own.
    assert (
        run_cli("subscribers", "set", "hal@example.org", "--cadence", "weekly", "--weekday", "fri").exit_code
        == 0
    )
    moved = run_cli("subscribers", "set", "hal@example.org", "--weekday", "tue")
    assert moved.exit_code == 0 and "weekly on Tue at 07:00 UTC" in moved.stdout
    # A weekly reader added without a weekday reads on Mondays.
    assert (
        run_cli("subscribers", "add", "ida@example.org", "--topic", "speech", "--cadence", "weekly").exit_code
        == 0
    )
    assert [s["weekday"] for s in listed(run_cli)] == [1, 0]


def test_list_text_shows_email_status_schedule_and_topics(run_cli):
    added = run_cli("subscribers", "add", "eve@example.org", "--topic", "speech", "--exclude", "survey")
    assert "added eve@example.org (active, 1 topic)" in added.stdout
    weekly = ["--cadence", "weekly", "--weekday", "fri", "--tz", "Asia/Tokyo", "--hour", "8"]
    run_cli("subscribers", "add", "fay@example.org", "--topic", "robotics", "--topic", "speech", *weekly)
    eve, fay = run_cli("subscribers", "list").stdout.splitlines()
    assert "eve@example.org" in eve and "active" in eve and "speech" in eve and "-survey" in eve
    assert "UTC 07:00 " in eve and "weekly" not in eve
    assert "fay@example.org" in fay and "Asia/Tokyo 08:00, weekly on Fri" in fay and "robotics; speech" in fay
    changed = run_cli("subscribers", "set-topics", "fay@example.org", "--topic", "audio")
    assert "fay@example.org now has 1 topic" in changed.stdout


def test_bulk_import_skips_known_addresses_and_counts_only_the_new(store):
    prefs = preferences(["LLM reasoning"], timezone="UTC", hour=7)
    store.subscribers.add("known@example.org", prefs, "active", FIXED_NOW)
    entries = [(f"r{i}@example.org", prefs) for i in range(5)] + [("known@example.org", prefs)]
    assert store.subscribers.add_many(entries, "active", FIXED_NOW, batch=4) == 5
    assert sorted(s.email for s in store.subscribers.listed()) == sorted(
        ["known@example.org"] + [f"r{i}@example.org" for i in range(5)]
    )
