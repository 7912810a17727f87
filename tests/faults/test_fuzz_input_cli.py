"""`newsletter subscribers add` under fuzz: exit 0 with valid stored values, or exit 2 with one "error:" line
and nothing stored; never a traceback.

At most two of the arguments (the address, topics, exclusions, time zone, hour, papers per email, weekday,
cadence) are adversarial at once, so both answers are exercised; the others are good values.

The CI profile keeps this bounded; for the long fuzz:

    .venv/bin/pytest tests/faults/test_fuzz_input_cli.py --hypothesis-profile=long
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given
from hypothesis import strategies as st

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.models import CADENCES, Subscriber
from newsletter.store import Store
from newsletter.subscribers import Preferences
from tests.conftest import CliRunnerFn
from tests.faults.fuzz_input_support import (
    BIDI_CHARS,
    EMOJI,
    IDN_ADDRESSES,
    REFUSED,
    RTL,
    WORDS,
    address_like,
    assert_normalised,
    assert_valid_preferences,
    topic_texts,
    weekdays,
    zones,
)
from tests.faults.hypothesis_profiles import budget

# --- through the CLI ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CliRunnerFn, Store]]:
    """`newsletter` in-process on one SQLite file, with an empty config so no ./config.toml is read."""
    folder = tmp_path_factory.mktemp("cli")
    (folder / "config.toml").write_text("", encoding="utf-8")
    db_url = f"sqlite:///{folder / 'newsletter.db'}"
    env = {"NEWSLETTER_DATABASE_URL": db_url, "NEWSLETTER_CONFIG": str(Path(folder / "config.toml"))}
    store = app.open_store(DatabaseSettings(url=db_url))
    yield CliRunnerFn(env=env), store
    store.dispose()


def _rows(store: Store) -> list[Subscriber]:
    return store.subscribers.listed()


def _add(cli_world: tuple[CliRunnerFn, Store], args: list[str]) -> None:
    """Run `subscribers add`; check it stored valid values or refused with one error line and no row."""
    run, store = cli_world
    before = _rows(store)
    result = run("subscribers", "add", *args)
    after = _rows(store)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    event(f"exit {result.exit_code}")
    if result.exit_code == 2:
        assert any(line.lower().startswith("error:") for line in result.output.splitlines()), result.output
        assert after == before, "a refused add stored something"
        return
    [added] = [s for s in after if s not in before]
    assert_normalised(added.email)
    assert_valid_preferences(
        Preferences(
            added.topics,
            added.excludes,
            added.timezone,
            added.hour,
            added.cadence,
            added.weekday,
            added.per_email,
        )
    )
    assert store.subscribers.remove(added.email)  # keep the table small between examples


option_values = st.one_of(st.integers(-3, 40).map(str), st.sampled_from(["", "x", "7.0", "٣", "1e1", " 5"]))


good_characters = st.characters(
    codec="utf-8", exclude_categories=["Cc"], exclude_characters="".join(sorted(BIDI_CHARS))
)
# The CLI refuses a topic starting with '-' (it reads as an exclusion): not a good topic.
good_topics = st.sampled_from(WORDS[:5] + RTL + EMOJI) | st.text(good_characters, min_size=1).filter(
    lambda t: not t.strip().startswith("-")
)
good_zones = st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata", "Asia/Calcutta", "America/Sao_Paulo"])


FIELDS = ("email", "topics", "excludes", "tz", "hour", "per-email", "weekday", "cadence")
good_emails = st.emails() | st.sampled_from(IDN_ADDRESSES)
bad_emails = address_like | st.sampled_from(REFUSED) | st.text()


@st.composite
def add_arguments(draw: st.DrawFn) -> list[str]:
    """`subscribers add` arguments; at most two fields are adversarial, so both answers are exercised."""
    bad = draw(st.sets(st.sampled_from(FIELDS), max_size=2))
    args: list[str] = []
    for topic in draw(st.lists(topic_texts if "topics" in bad else good_topics, min_size=1, max_size=4)):
        args += ["--topic", topic]
    for term in draw(st.lists(topic_texts if "excludes" in bad else good_topics, max_size=3)):
        args += ["--exclude", term]
    if "tz" in bad or draw(st.booleans()):
        args += ["--tz", draw(zones if "tz" in bad else good_zones)]
    if "hour" in bad or draw(st.booleans()):
        args += ["--hour", draw(option_values if "hour" in bad else st.integers(0, 23).map(str))]
    if "per-email" in bad or draw(st.booleans()):
        args += ["--per-email", draw(option_values if "per-email" in bad else st.integers(1, 30).map(str))]
    if "weekday" in bad or draw(st.booleans()):
        weekday = draw(weekdays.map(str) if "weekday" in bad else
                       st.sampled_from(["mon", "Tuesday", "sat", "sun"]))  # fmt: skip
        args += ["--weekday", weekday]
    if "cadence" in bad or draw(st.booleans()):
        args += [
            "--cadence",
            draw(st.sampled_from(["hourly", "", "Daily"] if "cadence" in bad else CADENCES)),
        ]
    return [*args, "--", draw(bad_emails if "email" in bad else good_emails)]


@given(add_arguments())
@budget(1.0, suppress_health_check=[HealthCheck.too_slow])
def test_cli_add_stores_valid_values_or_refuses_with_exit_2(
    cli_world: tuple[CliRunnerFn, Store], args: list[str]
) -> None:
    # A NUL cannot travel in a real argv; everything else can.
    _add(cli_world, [a.replace("\x00", "") for a in args])


@example("²")
@given(st.sampled_from(["²", "³", "①"]))
@budget(0.1)
def test_cli_add_with_a_superscript_weekday_exits_2(
    cli_world: tuple[CliRunnerFn, Store], weekday: str
) -> None:
    _add(cli_world, ["--topic", "speech", "--weekday", weekday, "--", "ada@example.org"])
