"""Subscribers on a real SQLite file, by CLI and bulk import: validation, uniqueness, every command."""

from __future__ import annotations

import email
import json
import re
from email.policy import default

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.subscribers import email_key, normalize_email, preferences
from newsletter.tokens import fingerprint
from tests.conftest import FIXED_NOW, HF_API
from tests.test_web import mail_to, subscribe


def listed(run_cli) -> list[dict]:
    result = run_cli("subscribers", "list", "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_add_creates_an_active_subscriber_with_defaults(run_cli):
    result = run_cli("subscribers", "add", "Ada@Example.COM", "--topic", "LLM reasoning", "--topic", "speech")
    assert result.exit_code == 0, result.output
    [sub] = listed(run_cli)
    assert sub["email"] == "Ada@example.com"
    assert sub["status"] == "active"
    assert sub["topics"] == ["LLM reasoning", "speech"]
    assert (sub["timezone"], sub["hour"], sub["cadence"], sub["per_email"]) == ("UTC", 7, "daily", 10)
    assert sub["confirmed_at"] is not None


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
    said = "asked to receive trending ML papers on 1 topic at this address. The link below shows them."
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-email", "--topic", "x"], "email:"),
        (["a@b", "--topic", "x"], "email:"),
        (["x" * 65 + "@example.org", "--topic", "x"], "over 64 characters"),
        (["ok@example.org", "--topic", ""], "topics: an entry is empty"),
        (["ok@example.org", "--topic", "   "], "topics: an entry is empty"),
        (["ok@example.org", "--topic", "🎤🎤🎤"], "topics: '🎤🎤🎤' has no letter or digit"),
        (["ok@example.org", "--topic", "Robotics", "--exclude", "robotics"], "'robotics' is also a topic"),
        # An exclusion that reads as the topic, or as part of it, would empty the reader's email.
        (
            ["ok@example.org", "--topic", "agents", "--exclude", "agentic"],
            "'agentic' reads as part of the topic 'agents' (word forms match alike)",
        ),
        (["ok@example.org", "--topic", "LLM reasoning", "--exclude", "reasoning"], "part of the topic"),
        (["ok@example.org", "--topic", "large language models", "--exclude", "LLMs"], "part of the topic"),
        (["ok@example.org", "--topic", "x", "--exclude", "-!"], "excludes: '!' has no letter or digit"),
        # Ranking skips words as common as these, so the topic would never pick a paper.
        (["ok@example.org", "--topic", "The"], "topics: 'The' has only words too common to rank by"),
        (["ok@example.org", "--topic", "x", "--exclude", "about it"], "excludes: 'about it' has only words"),
        (["ok@example.org", "--topic", "t" * 201], "at most 200 characters"),
        (["ok@example.org", *[arg for i in range(51) for arg in ("--topic", f"topic {i}")]], "at most 50"),
        (["ok@example.org", "--topic", "x", "--tz", "Mars/Olympus"], "unknown time zone"),
        # Host-dependent or placeholder names that load but name no place.
        (["ok@example.org", "--topic", "x", "--tz", "posixrules"], "unknown time zone 'posixrules'"),
        (["ok@example.org", "--topic", "x", "--tz", "localtime"], "timezone: unknown time zone 'localtime'"),
        (["ok@example.org", "--topic", "x", "--tz", "Factory"], "timezone: unknown time zone 'Factory'"),
        (["ok@example.org", "--topic", "x", "--hour", "24"], "between 0 and 23"),
        (["ok@example.org", "--topic", "x", "--hour", "-1"], "between 0 and 23"),
        (["ok@example.org", "--topic", "x", "--per-email", "31"], "between 1 and 30"),
        (["ok@example.org", "--topic", "bad\r\nBcc: victim@example.org"], "control characters"),
        (["ok@example.org\r\nBcc: x@example.org", "--topic", "x"], "control characters"),
        (["ok@example.org", "--topic", "x", "--exclude", "a\x00b"], "control characters"),
        (["ok@example.org", "--topic", "x", "--tz", "UTC\n"], "control characters"),
        (["ok@example.org", "--topic", "x", "--weekday", "someday"], "unknown weekday"),
        (
            ["ok@example.org", "--topic", "x", "--cadence", "weekly", "--weekday", "5"],
            "weekday: unknown weekday '5'; use mon, tue, wed, thu, fri, sat, sun",
        ),
        (["ok@example.org", "--topic", "x", "--tz", ""], "timezone: is empty; choose one"),
        (["ok@example.org", "--topic", "\u202eevil\u202c"], "topics: must not contain control characters"),
        (["ok@example.org", "--topic", "x", "--exclude", "a\u2067b"], "direction overrides"),
        (
            ["ok@example.org", "--topic", "-survey"],
            "topics: '-survey' starts with '-', which marks an exclusion: use --exclude 'survey'",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(run_cli, args, message):
    result = run_cli("subscribers", "add", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert listed(run_cli) == []


def test_duplicate_is_refused_case_insensitively(run_cli):
    assert run_cli("subscribers", "add", "fay@example.org", "--topic", "speech").exit_code == 0
    result = run_cli("subscribers", "add", "FAY@Example.org", "--topic", "robotics")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "error: fay@example.org is already in the list (active); "
        "change what they get with `newsletter subscribers set-topics` or `set`\n"
    )
    [sub] = listed(run_cli)
    assert sub["topics"] == ["speech"]


def test_a_known_address_is_refused_with_its_real_status_and_what_to_do(run_cli, store):
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    store.subscribers.add("pat@example.org", prefs, "pending", FIXED_NOW)
    for status in ("unsubscribed", "bounced"):
        store.subscribers.add(f"{status}@example.org", prefs, status, FIXED_NOW)
    for address, said in (
        ("PAT@example.org", "pat@example.org is already in the list (pending); they have not confirmed yet"),
        ("unsubscribed@example.org", "in the list (unsubscribed); they unsubscribed; if they asked"),
        ("bounced@example.org", "is already in the list (bounced); mail to it bounced"),
    ):
        result = run_cli("subscribers", "add", address, "--topic", "robotics")
        assert result.exit_code == 2, result.output
        assert said in result.stderr
        assert "already subscribed" not in result.stderr
        assert "`newsletter subscribers remove` it, then add it again" in result.stderr
    assert [s["status"] for s in listed(run_cli)] == ["pending", "unsubscribed", "bounced"]
    # As it says: once the address works again, the admin brings it back (README, bounces import).
    assert run_cli("subscribers", "remove", "bounced@example.org").exit_code == 0
    back = run_cli("subscribers", "add", "bounced@example.org", "--topic", "robotics")
    assert back.exit_code == 0 and "added bounced@example.org (active, 1 topic)" in back.stdout


def test_set_topics_refuses_bad_topics_and_keeps_the_old_ones(run_cli):
    run_cli("subscribers", "add", "gus@example.org", "--topic", "speech")
    result = run_cli("subscribers", "set-topics", "gus@example.org", "--topic", "x" * 300)
    assert result.exit_code == 2
    assert listed(run_cli)[0]["topics"] == ["speech"]


def test_bulk_import_skips_known_addresses_and_counts_only_the_new(store):
    prefs = preferences(["LLM reasoning"], timezone="UTC", hour=7)
    store.subscribers.add("known@example.org", prefs, "active", FIXED_NOW)
    entries = [(f"r{i}@example.org", prefs) for i in range(5)] + [("known@example.org", prefs)]
    assert store.subscribers.add_many(entries, "active", FIXED_NOW, batch=4) == 5
    assert sorted(s.email for s in store.subscribers.listed()) == sorted(
        ["known@example.org"] + [f"r{i}@example.org" for i in range(5)]
    )


def test_rtl_text_marks_and_emoji_joiners_are_kept(run_cli):
    # Only the direction overrides and isolates are refused; marks and joiners are part of real text.
    topics = ["\u200f\u05e9\u05dc\u05d5\u05dd\u200e", "تعلم الآلة", "👩\u200d🔬 lab automation"]
    args = [arg for topic in topics for arg in ("--topic", topic)]
    result = run_cli(
        "subscribers", "add", "rtl@example.org", *args, "--cadence", "weekly", "--weekday", "Tues"
    )
    assert result.exit_code == 0, result.output
    [sub] = listed(run_cli)
    assert (sub["topics"], sub["weekday"]) == (topics, 1)


def test_set_topics_refuses_a_topic_that_looks_like_an_exclusion(run_cli):
    run_cli("subscribers", "add", "gus@example.org", "--topic", "speech")
    result = run_cli(
        "subscribers", "set-topics", "gus@example.org", "--topic", "robots", "--topic", "-survey"
    )
    assert result.exit_code == 2
    assert (
        result.stderr
        == "error: topics: '-survey' starts with '-', which marks an exclusion: use --exclude 'survey'\n"
    )
    assert listed(run_cli)[0]["topics"] == ["speech"]


# Dorte's domain in its two spellings: Unicode, as `subscribers add` stores it, and IDNA, as mail goes.
DORTE = "dorte@exämple.de"
DORTE_IDNA = "dorte@xn--exmple-cua.de"
MARCH = HF_API / "daily_papers_2025-03-11.json"


def test_an_international_domain_is_one_address_in_either_spelling_at_the_cli(run_cli, smtp):
    _, controller = smtp
    env = {
        "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(controller.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
        "NEWSLETTER_WEB_SECRET_KEY": "test-secret-key-0123456789",
        "NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@example.org",
    }
    added = run_cli("subscribers", "add", DORTE, "--topic", "LLM", "--topic", "reasoning", env=env)
    assert added.exit_code == 0, added.output
    twice = run_cli("subscribers", "add", DORTE_IDNA, "--topic", "speech", env=env)
    assert twice.exit_code == 2
    assert f"error: {DORTE} is already in the list (active)" in twice.stderr
    fetched = run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11", env=env)
    assert fetched.exit_code == 0, fetched.output

    picks = {}
    for spelling in (DORTE, DORTE_IDNA, "Dorte@XN--EXMPLE-CUA.DE", "dorte@EXÄMPLE.de"):
        result = run_cli("picks", "--email", spelling, "--date", "2025-03-11", "--json", env=env)
        assert result.exit_code == 0, result.output
        picks[spelling] = [json.loads(line)["arxiv_id"] for line in result.stdout.splitlines()]
    assert picks[DORTE], "no picks: the lookups below would compare nothing"
    assert all(found == picks[DORTE] for found in picks.values()), picks

    changed = run_cli("subscribers", "set", DORTE_IDNA, "--per-email", "3", env=env)
    assert changed.exit_code == 0, changed.output
    [sub] = listed(run_cli)
    assert (sub["email"], sub["per_email"]) == (DORTE, 3)

    sent = run_cli("send", "--date", "2025-03-11", "--only", DORTE_IDNA, env=env)
    assert sent.exit_code == 0, sent.output
    assert "1 sent" in sent.stdout
    assert [r.recipient for r in smtp[0].received] == [DORTE_IDNA]

    removed = run_cli("subscribers", "remove", DORTE_IDNA, env=env)
    assert removed.stdout == f"subscribers: removed {DORTE}\n"
    assert listed(run_cli) == []


def test_a_web_sign_up_in_the_other_spelling_is_the_known_reader(world, smtp):
    handler, _ = smtp
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    world.store.subscribers.add(normalize_email(DORTE), prefs, "active", FIXED_NOW)
    response = subscribe(world, email=DORTE_IDNA)
    assert response.status_code == 200, response.text
    # Still one reader, her topics not changed by the form; she is mailed a manage link, not a second row.
    [sub] = world.store.subscribers.listed()
    assert (sub.email, sub.topics, sub.status) == (DORTE, ("speech",), "active")
    assert "/manage/" in mail_to(handler, DORTE_IDNA)


def test_stored_keys_and_link_fingerprints_are_those_of_the_release_before():
    # Keys are a unique column and fingerprints are in every link sent: neither may change for an
    # address already stored. Stored addresses are what normalize_email gives, the domain in Unicode.
    for typed, key in (
        ("Ada.Lovelace+news@Example.ORG", "ada.lovelace+news@example.org"),
        (DORTE_IDNA, DORTE),
        ("x@FAß.de", "x@fass.de"),
        ("x@ΑΘΉΝΑ.gr", "x@αθήνα.gr"),
        ("x@пример.рф", "x@пример.рф"),
        ("x@例え.テスト.jp", "x@例え.テスト.jp"),
        ("x@ｅｘäｍｐｌｅ.com", "x@exämple.com"),
    ):
        assert email_key(normalize_email(typed)) == key
    # Computed by the release before (email.strip().casefold()), as minted into links already sent.
    assert fingerprint("Ada.Lovelace+news@Example.ORG") == "7a087c58f3a5a23e"
    assert fingerprint(DORTE) == "921184992e79520f"
    assert fingerprint("x@faß.de") == "2faf526c6ee588a6"


@pytest.mark.parametrize(
    "spelling",
    [DORTE, DORTE_IDNA, " Dorte@XN--EXMPLE-CUA.DE ", "dorte@EXÄMPLE.DE", "dorte@exa\u0308mple.de"],
)
def test_either_spelling_of_an_international_domain_finds_the_stored_reader(store, spelling):
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    stored = store.subscribers.add(normalize_email(DORTE), prefs, "active", FIXED_NOW)
    found = store.subscribers.by_email(spelling)
    assert found is not None and found.id == stored.id
    assert store.subscribers.by_email("dorte@exemple.de") is None  # a different domain, not a spelling


@pytest.mark.parametrize(
    "address",
    ["x@xn--zz.de", "x@xn--.de", "x@ab--c.de", "x@a..b", "x@[127.0.0.1]", "x@" + "xn--a" * 100, "@", "no-at"],
)
def test_a_domain_that_does_not_decode_is_kept_as_it_is(address):
    assert email_key(address) == address.casefold()


ASCII = st.text(alphabet=st.characters(max_codepoint=127))


@given(st.one_of(ASCII, st.builds("{}@{}".format, ASCII, ASCII)))
def test_an_ascii_address_keeps_the_key_it_always_had(text):
    # Nearly every reader: their key, and so the fingerprint in their links, is the casefolded address.
    if "xn--" not in text.casefold():
        assert email_key(text) == text.strip().casefold()


@given(st.text())
def test_no_text_makes_the_key_fail(text):
    assert isinstance(email_key(text), str)


def test_an_exclusion_that_narrows_a_topic_is_kept(run_cli):
    # Speech, but not speech recognition: the exclusion is longer than the topic, and narrows it.
    added = run_cli(
        "subscribers", "add", "nara@example.org", "--topic", "speech", "--exclude", "speech recognition"
    )
    assert added.exit_code == 0, added.output
    assert listed(run_cli)[0]["excludes"] == ["speech recognition"]
