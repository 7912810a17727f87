"""Subscribers' input at the CLI, on a real SQLite file: a bad address, topic, exclusion, time zone, hour or
weekday is refused with what is wrong and nothing is stored; a known address is refused with its real status
and what to do; right-to-left text, marks, emoji joiners and an exclusion that narrows a topic are kept.
"""

from __future__ import annotations

import pytest

from newsletter.subscribers import preferences
from tests.conftest import FIXED_NOW
from tests.subscribers_support import listed


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


def test_an_exclusion_that_narrows_a_topic_is_kept(run_cli):
    # Speech, but not speech recognition: the exclusion is longer than the topic, and narrows it.
    added = run_cli(
        "subscribers", "add", "nara@example.org", "--topic", "speech", "--exclude", "speech recognition"
    )
    assert added.exit_code == 0, added.output
    assert listed(run_cli)[0]["excludes"] == ["speech recognition"]
