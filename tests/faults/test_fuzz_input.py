"""Subscriber input under fuzz: topics, exclusions and preferences.

Every validator answers with validated values or InvalidInput, nothing else. Inputs mix Unicode, RTL text
(Arabic, Hebrew), emoji, 10k-character strings, CR/LF and other control characters, bidi overrides,
zero-width characters and leading '-' exclusions; odd time zones, hours, cadences and weekdays. Email
addresses are fuzzed in test_fuzz_input_address.py, `newsletter subscribers add` in test_fuzz_input_cli.py.

The CI profile keeps this bounded; for the long fuzz:

    .venv/bin/pytest tests/faults/test_fuzz_input.py --hypothesis-profile=long
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from newsletter.models import CADENCES
from newsletter.subscribers import (
    MAX_EXCLUDES,
    MAX_TOPICS,
    InvalidInput,
    check_timezone,
    clean_excludes,
    clean_topics,
    normalize_email,
    parse_weekday,
    preferences,
    split_topic_lines,
)
from tests.faults.fuzz_input_support import (
    BIDI_OVERRIDES,
    RTL,
    assert_clean_list,
    assert_valid_preferences,
    topic_texts,
    weekdays,
    zones,
)
from tests.faults.hypothesis_profiles import budget

topic_lists = st.lists(topic_texts, max_size=MAX_TOPICS + 3)
whole_numbers = st.one_of(st.integers(-5, 40), st.integers())


# --- topics, exclusions, preferences ------------------------------------------------------------


@example(["LLM reasoning", "llm REASONING", "speech"])
@example(["a\r\nBcc: victim@example.org"])
@example(["x" * 10_000])
@example(["\u200b"])
@given(topic_lists)
@budget(2.0)
def test_clean_topics_returns_valid_topics_or_refuses(raw: list[str]) -> None:
    try:
        topics = clean_topics(raw)
    except InvalidInput as exc:
        assert exc.field == "topics" and exc.message
        return
    assert topics, "no topics is a refusal, not an empty answer"
    assert_clean_list(topics, MAX_TOPICS)


@example(["-survey", "--medical", "  -x  "])
@given(topic_lists)
@budget(2.0)
def test_clean_excludes_returns_valid_terms_or_refuses(raw: list[str]) -> None:
    try:
        excludes = clean_excludes(raw)
    except InvalidInput as exc:
        assert exc.field == "excludes" and exc.message
        return
    assert_clean_list(excludes, MAX_EXCLUDES)
    assert not any(e.startswith("-") for e in excludes)


@given(st.lists(topic_texts, max_size=8).map("\n".join))
@budget(1.0)
def test_form_text_split_into_topics_and_exclusions_is_validated(text: str) -> None:
    # The web form's path: one topic per line, a leading '-' marks an exclusion.
    topics, excludes = split_topic_lines(text.replace("\r\n", "\n").split("\n"))
    try:
        cleaned = (clean_topics(topics), clean_excludes(excludes))
    except InvalidInput:
        return
    assert_clean_list(cleaned[0], MAX_TOPICS)
    assert_clean_list(cleaned[1], MAX_EXCLUDES)


@pytest.mark.parametrize("override", BIDI_OVERRIDES)
def test_bidi_overrides_are_refused_in_every_field_like_control_characters(override: str) -> None:
    for field, check in (
        ("topics", lambda text: clean_topics([text])),
        ("excludes", lambda text: clean_excludes([text])),
        ("email", lambda text: normalize_email(f"{text}@example.org")),
        ("timezone", check_timezone),
    ):
        with pytest.raises(InvalidInput) as refused:
            check(f"a{override}b")
        assert (refused.value.field, refused.value.message) == (
            field,
            "must not contain control characters, line breaks or direction overrides",
        )


def test_rtl_text_with_direction_marks_is_kept() -> None:
    assert clean_topics(RTL) == tuple(RTL)


@given(
    topic_lists,
    topic_lists,
    zones,
    whole_numbers,
    st.sampled_from([*CADENCES, "Daily", "monthly", ""]),
    weekdays.filter(lambda w: not (isinstance(w, str) and any(c.isdigit() and not c.isdecimal() for c in w))),
    whole_numbers,
)
@budget(2.0)
def test_preferences_are_all_valid_or_refused(
    topics: list[str], excludes: list[str], tz: str, hour: int, cadence: str, weekday: Any, per_email: int
) -> None:
    # Weekday strings with digits that are not decimal ('²') have a test of their own below.
    try:
        prefs = preferences(
            topics, excludes, timezone=tz, hour=hour, cadence=cadence, weekday=weekday, per_email=per_email
        )
    except InvalidInput as exc:
        assert exc.message
        return
    assert_valid_preferences(prefs)


# Regression (found by this fuzzing, now fixed): newsletter/subscribers.py parse_weekday (line 171-172)
# checks str.isdigit() and then calls int(): '²' (and '³', '¹', '①', '⑩' ...) is a digit for isdigit() but
# int() refuses it, so ValueError escapes instead of InvalidInput; `newsletter subscribers add
# x@example.org --topic t --weekday ²` prints a traceback


@example("²")
@given(st.sampled_from(["²", "³", "¹", "①", "⑩", "1²", "\U0001d7d9"]))
def test_a_superscript_weekday_is_refused_cleanly(weekday: str) -> None:
    with contextlib.suppress(InvalidInput):
        assert 0 <= parse_weekday(weekday) <= 6


@example([None])
@given(st.lists(st.one_of(st.none(), st.integers(), st.binary(max_size=4)), min_size=1, max_size=3))
def test_non_text_exclusions_are_refused_cleanly(raw: list[Any]) -> None:
    with pytest.raises(InvalidInput):
        clean_excludes(raw)


@given(st.lists(st.one_of(st.none(), st.integers(), st.binary(max_size=4)), min_size=1, max_size=3))
def test_non_text_topics_are_refused_cleanly(raw: list[Any]) -> None:
    with pytest.raises(InvalidInput):
        clean_topics(raw)
