"""The scraper on mutated real API responses: a ScrapeResult or a ScrapeError, nothing else; and whatever
parses, through `newsletter fetch --file`, can be stored.

Every response starts as a saved real file (tests/fixtures/hf) and is mutated: characters and bytes deleted,
inserted, duplicated, swapped or cut off; JSON values replaced by other JSON types; ids made nearly arXiv
ids; documents nested deep. Whatever parses must hold only papers whose arxiv_id is a real (ASCII) arXiv id
and whose title is not blank. The saved page is fuzzed in test_fuzz_scrape_page.py; the corpus, the
mutations and that check are in fuzz_scrape_support.py.

The CI profile keeps this bounded; for the long fuzz:

    .venv/bin/pytest tests/faults/test_fuzz_scrape.py --hypothesis-profile=long
"""

from __future__ import annotations

import copy
import html
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st

from newsletter.scrape import parse_api, parse_document
from tests.conftest import CliRunnerFn
from tests.faults.fuzz_scrape_support import (
    API_ITEMS,
    API_TEXTS,
    check,
    json_values,
    mutated_items,
    near_arxiv_ids,
    text_mutations,
)
from tests.faults.hypothesis_profiles import NO_SHRINK, budget

# --- API responses ------------------------------------------------------------------------------


@st.composite
def byte_mutations(draw: st.DrawFn, text: str) -> str:
    """`text` with raw UTF-8 bytes deleted or flipped, decoded as an HTTP client would (replacement)."""
    data = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, max(0, len(data) - 1)))
        if draw(st.booleans()):
            del data[i : i + draw(st.integers(1, 3))]
        else:
            data[i : i + 1] = bytes([draw(st.integers(0, 255))])
    return data.decode("utf-8", errors="replace")


@given(st.sampled_from(sorted(API_TEXTS)).flatmap(lambda name: text_mutations(API_TEXTS[name])))
@budget(2.0)
def test_api_text_mutations_parse_or_raise_scrape_error(text: str) -> None:
    check(parse_document, text)


@given(st.sampled_from(sorted(API_TEXTS)).flatmap(lambda name: byte_mutations(API_TEXTS[name])))
@budget(1.0)
def test_api_byte_mutations_parse_or_raise_scrape_error(text: str) -> None:
    check(parse_document, text)


@given(mutated_items(), st.booleans())
@budget(2.0)
def test_api_structure_mutations_parse_or_raise_scrape_error(items: list[Any], wrapped: bool) -> None:
    document: Any = {"dailyPapers": items} if wrapped else items
    check(parse_api, json.dumps(document))


@given(json_values)
def test_any_json_document_parses_or_raises_scrape_error(document: Any) -> None:
    check(parse_document, json.dumps(document))


@example(item_id="\uff12\uff14\uff10\uff17.\uff12\uff11\uff17\uff18\uff13")
@given(st.one_of(near_arxiv_ids, json_values))
def test_only_real_arxiv_ids_are_accepted(item_id: Any) -> None:
    item = copy.deepcopy(API_ITEMS["daily_papers_2024-08-01.json"][0])
    item["paper"]["id"] = item_id
    check(parse_api, json.dumps([item]))


@given(near_arxiv_ids.filter(lambda i: i.isascii()) | st.one_of(json_values))
@budget(1.0)
def test_ascii_ids_and_other_json_types_for_ids_are_handled(item_id: Any) -> None:
    # The same property without the Unicode digits of the bug above, so it keeps guarding the rest.
    item = copy.deepcopy(API_ITEMS["daily_papers_2024-08-01.json"][0])
    item["paper"]["id"] = item_id
    check(parse_api, json.dumps([item]))


@example(depth=3000, opener="[", page=False)
@given(st.integers(1, 100_000), st.sampled_from(["[", '{"a":', '{"dailyPapers":']), st.booleans())
def test_deeply_nested_json_is_a_scrape_error(depth: int, opener: str, page: bool) -> None:
    document = opener * depth
    if page:
        hydrater = '<div class="SVELTE_HYDRATER contents" data-target="DailyPapers" data-props="{}"></div>'
        document = hydrater.format(html.escape(document))
    check(parse_document, document)


@given(st.integers(1, 400), st.sampled_from(["[", '{"a":', '{"dailyPapers":']))
def test_moderately_nested_json_is_handled(depth: int, opener: str) -> None:
    check(parse_document, opener * depth)


# --- through the CLI: whatever parses can be stored -----------------------------------------------


@pytest.fixture(scope="module")
def fetch_cli(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliRunnerFn, Path]:
    """The CLI on one SQLite file for the whole module; an empty config so no ./config.toml is read."""
    folder = tmp_path_factory.mktemp("fetch")
    (folder / "config.toml").write_text("", encoding="utf-8")
    env = {"NEWSLETTER_DATABASE_URL": f"sqlite:///{folder / 'newsletter.db'}",
           "NEWSLETTER_CONFIG": str(folder / "config.toml")}  # fmt: skip
    return CliRunnerFn(env=env), folder


def _fetch_file(fetch_cli: tuple[CliRunnerFn, Path], text: str) -> None:
    run, folder = fetch_cli
    path = folder / "mutated.json"
    path.write_text(text, encoding="utf-8")
    result = run("fetch", "--file", str(path), "--date", "2024-08-01")
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert "error:" in result.stderr


def _ints_fit_sqlite(value: Any) -> bool:
    """No integer anywhere in `value` (or in a digit string) is outside SQLite's 64-bit range."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        return not (text.isdecimal() and len(text) > 18)
    if isinstance(value, dict):
        return all(_ints_fit_sqlite(v) for v in value.values())
    if isinstance(value, list):
        return all(_ints_fit_sqlite(v) for v in value)
    return True


@given(mutated_items(max_items=4).filter(_ints_fit_sqlite))
@budget(0.6, suppress_health_check=[HealthCheck.too_slow])
def test_fetch_file_of_mutated_items_stores_or_refuses(
    fetch_cli: tuple[CliRunnerFn, Path], items: list
) -> None:
    # Numbers beyond 64 bits have a test of their own below.
    _fetch_file(fetch_cli, json.dumps(items))


# Regression (found by this fuzzing, now fixed): scrape._int (newsletter/scrape.py line 236) keeps any
# integer, so an item with paper.upvotes = 2**63 (or githubStars, numComments, or a digit string like
# '99999999999999999999') parses, and the store's upsert (newsletter/store/papers.py, insert at line 126,
# update at line 140) raises OverflowError 'Python int too large to convert to SQLite INTEGER':
# `newsletter fetch --file` prints a traceback, and the live fetch (run_fetch catches only
# SourceUnreachable/ScrapeError) dies


@example(where="paper.upvotes", value=2**63)
@given(
    where=st.sampled_from(["paper.upvotes", "paper.githubStars", "numComments"]),
    value=st.one_of(st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1), st.just("9" * 20)),
)
@budget(0.1, phases=NO_SHRINK)
def test_fetch_file_with_a_64_bit_overflowing_count_is_not_a_traceback(
    fetch_cli: tuple[CliRunnerFn, Path], where: str, value: Any
) -> None:
    item = copy.deepcopy(API_ITEMS["daily_papers_2024-08-01.json"][0])
    item["paper"]["id"] = "2407.99999"  # a paper the store has not seen: the insert path
    node = item["paper"] if where.startswith("paper.") else item
    node[where.removeprefix("paper.")] = value
    _fetch_file(fetch_cli, json.dumps([item]))


@example(title="bad \ud800 title")
@given(st.sampled_from(["\ud800", "x\udfff", "\udbff\udc00\ud800"]))
@budget(0.2)
def test_fetch_file_with_a_lone_surrogate_escape_is_not_a_traceback(
    fetch_cli: tuple[CliRunnerFn, Path], title: str
) -> None:
    item = copy.deepcopy(API_ITEMS["daily_papers_2024-08-01.json"][0])
    item["paper"]["title"] = title
    _fetch_file(fetch_cli, json.dumps([item]))
