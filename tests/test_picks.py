"""Each subscriber's picks, from real fixture papers in a real SQLite store, through the CLI."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from newsletter.app import open_store
from newsletter.config import DatabaseSettings, load_settings
from newsletter.edition import Edition
from newsletter.rank.reading import excluded
from newsletter.rank.semantic import missing_semantic_package
from tests.conftest import FIXED_NOW, HF_API

MARCH = HF_API / "daily_papers_2025-03-11.json"
MAY = HF_API / "daily_papers_2025-05-30.json"


def load(run_cli, path=MARCH, day="2025-03-11"):
    result = run_cli("fetch", "--file", str(path), "--date", day)
    assert result.exit_code == 0, result.output


def subscribe(run_cli, email, *topics, excludes=(), per_email=30):
    args = ["subscribers", "add", email, "--per-email", str(per_email)]
    for topic in topics:
        args += ["--topic", topic]
    for term in excludes:
        args += ["--exclude", term]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output


def picks(run_cli, email, day="2025-03-11") -> list[dict]:
    result = run_cli("picks", "--email", email, "--date", day, "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def paper_text(db_url, arxiv_id) -> str:
    store = open_store(DatabaseSettings(url=db_url))
    try:
        [paper] = [row.paper for row in store.papers.listed() if row.paper.arxiv_id == arxiv_id]
    finally:
        store.dispose()
    return " ".join([paper.title, paper.abstract, paper.ai_summary or "", *paper.ai_keywords]).lower()


def test_abbreviation_matches_its_long_form(run_cli, db_url):
    load(run_cli)
    subscribe(run_cli, "short@example.org", "LLM")
    subscribe(run_cli, "long@example.org", "large language models")
    short = {p["arxiv_id"]: p for p in picks(run_cli, "short@example.org")}
    long = {p["arxiv_id"]: p for p in picks(run_cli, "long@example.org")}
    texts = {pid: paper_text(db_url, pid) for pid in set(short) | set(long)}
    spelled_out = {
        pid for pid, t in texts.items() if "large language model" in t and "llm" not in re.findall(r"\w+", t)
    }
    abbreviated = {
        pid for pid, t in texts.items() if re.search(r"\bllms?\b", t) and "large language model" not in t
    }
    # A paper that only spells out "Large Language Models" reaches the reader who typed "LLM" ...
    assert "2503.07595" in short and "2503.07595" in spelled_out
    # ... and papers that only ever write "LLM(s)" reach the reader who typed the long form.
    assert abbreviated & set(long), (abbreviated, set(long))
    for pid in abbreviated & set(long):
        assert any("language model" in m.lower() or "llm" in m.lower() for m in long[pid]["matched"]), long[
            pid
        ]


def test_plural_and_singular_match(run_cli):
    load(run_cli)
    subscribe(run_cli, "one@example.org", "diffusion model")
    subscribe(run_cli, "many@example.org", "diffusion models")
    one = [p["arxiv_id"] for p in picks(run_cli, "one@example.org")]
    assert one
    assert one == [p["arxiv_id"] for p in picks(run_cli, "many@example.org")]


def test_exclusion_removes_exactly_the_papers_that_mention_it(run_cli, db_url):
    load(run_cli)
    subscribe(run_cli, "all@example.org", "LLM")
    subscribe(run_cli, "nosurvey@example.org", "LLM", excludes=["-survey"])
    everything = [p["arxiv_id"] for p in picks(run_cli, "all@example.org")]
    filtered = [p["arxiv_id"] for p in picks(run_cli, "nosurvey@example.org")]
    removed = set(everything) - set(filtered)
    assert "2503.04629" in removed  # SurveyForge
    assert all(re.search(r"\bsurvey", paper_text(db_url, pid)) for pid in removed)
    assert all(not re.search(r"\bsurvey", paper_text(db_url, pid)) for pid in filtered)


def test_cap_limits_picks_per_email(run_cli):
    load(run_cli)
    subscribe(run_cli, "wide@example.org", "LLM", "reasoning", "video", per_email=30)
    subscribe(run_cli, "capped@example.org", "LLM", "reasoning", "video", per_email=3)
    wide = picks(run_cli, "wide@example.org")
    capped = picks(run_cli, "capped@example.org")
    assert len(wide) > 3
    assert [p["arxiv_id"] for p in capped] == [p["arxiv_id"] for p in wide[:3]]


def test_a_sent_paper_is_never_picked_again(run_cli, db_url):
    load(run_cli)
    subscribe(run_cli, "hist@example.org", "LLM reasoning", per_email=3)
    before = [p["arxiv_id"] for p in picks(run_cli, "hist@example.org")]
    store = open_store(DatabaseSettings(url=db_url))
    sub = store.subscribers.by_email("hist@example.org")
    assert sub is not None
    with store.write() as conn:
        store.subscribers.record_sent(conn, sub.id, before[:1], date(2025, 3, 11), FIXED_NOW)
    store.dispose()
    after = [p["arxiv_id"] for p in picks(run_cli, "hist@example.org")]
    assert before[0] not in after
    assert after[:2] == before[1:]


def test_each_pick_says_which_topic_and_words_matched(run_cli, db_url):
    load(run_cli)
    subscribe(run_cli, "why@example.org", "robot manipulation", "video generation", "LLM reasoning")
    chosen = picks(run_cli, "why@example.org")
    assert chosen
    for pick in chosen:
        assert pick["topic"] in ("robot manipulation", "video generation", "LLM reasoning")
        assert pick["matched"], pick
        text = paper_text(db_url, pick["arxiv_id"])
        for phrase in pick["matched"]:
            words = [w for w in re.findall(r"\w+", phrase.lower()) if len(w) > 2]
            # Abbreviations may be matched through their long form; stems through inflections.
            assert any(w[:4] in text for w in words) or phrase.lower() in ("llm", "llms"), (phrase, pick)
    text_out = run_cli("picks", "--email", "why@example.org", "--date", "2025-03-11").stdout
    assert "why: matches your topic" in text_out


def test_same_inputs_give_byte_identical_picks(run_cli, tmp_path):
    load(run_cli, MAY, "2025-05-30")
    load(run_cli)
    subscribe(run_cli, "det@example.org", "LLM reasoning", "multimodal", "video")
    first = run_cli("picks", "--email", "det@example.org", "--date", "2025-03-11", "--json").stdout
    second = run_cli("picks", "--email", "det@example.org", "--date", "2025-03-11", "--json").stdout
    assert first and first == second
    # A store filled in the other order gives the same bytes.
    other = {"NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11", env=other)
    run_cli("fetch", "--file", str(MAY), "--date", "2025-05-30", env=other)
    run_cli("subscribers", "add", "det@example.org", "--topic", "LLM reasoning", "--topic", "multimodal",
            "--topic", "video", "--per-email", "30", env=other)  # fmt: skip
    third = run_cli("picks", "--email", "det@example.org", "--date", "2025-03-11", "--json", env=other).stdout
    assert third == first


def test_pool_is_the_issue_date_and_its_window(run_cli):
    load(run_cli)
    subscribe(run_cli, "win@example.org", "LLM")
    assert picks(run_cli, "win@example.org", "2025-03-14")  # 3 days later: still in the window
    assert picks(run_cli, "win@example.org", "2025-03-15") == []
    # Before the papers were listed there is no pool at all, which is not "nothing on your topics".
    before = run_cli("picks", "--email", "win@example.org", "--date", "2025-03-10")
    assert before.exit_code == 1 and before.stdout == ""
    assert "no papers listed for the issue of 2025-03-10" in before.stderr


def test_picks_for_unknown_subscriber_is_a_usage_error(run_cli):
    result = run_cli("picks", "--email", "nobody@example.org")
    assert result.exit_code == 2 and "no subscriber" in result.stderr


def test_an_address_pasted_with_spaces_or_capitals_finds_the_reader(run_cli):
    load(run_cli)
    subscribe(run_cli, "ada@example.org", "LLM reasoning")
    assert picks(run_cli, "  Ada@Example.org \t") == picks(run_cli, "ada@example.org") != []
    preview = run_cli("preview", "--email", " ada@example.org ", "--date", "2025-03-11", "--text")
    assert preview.exit_code == 0, preview.output


def test_skipping_a_paper_takes_out_only_that_paper_and_changes_no_other_score(run_cli, db_url):
    load(run_cli)
    subscribe(run_cli, "ada@example.org", "LLM reasoning", "video generation", "robot manipulation")
    before = picks(run_cli, "ada@example.org")
    assert len(before) >= 5
    store = open_store(DatabaseSettings(url=db_url))
    try:
        # The admin's "skip this paper" on the top pick: the rest keep their places and scores.
        store.issues.skip_paper(date(2025, 3, 11), before[0]["arxiv_id"], FIXED_NOW)
    finally:
        store.dispose()
    unranked = [{k: v for k, v in p.items() if k != "rank"} for p in picks(run_cli, "ada@example.org")]
    assert unranked == [{k: v for k, v in p.items() if k != "rank"} for p in before[1:]]
    status = run_cli("issue", "--date", "2025-03-11").stdout
    assert re.search(r"so far \d+ papers \(1 skipped\)", status), status
    # Frozen and sent, the issue still holds the skipped paper out, and only it.
    assert run_cli("send", "--date", "2025-03-11").exit_code == 0
    # Whitespace made one: the text part wraps long titles.
    sent = " ".join(
        run_cli("preview", "--email", "ada@example.org", "--date", "2025-03-11", "--text").stdout.split()
    )
    assert before[0]["title"] not in sent and all(p["title"] in sent for p in before[1:])
    status = run_cli("issue", "--date", "2025-03-11").stdout
    assert re.search(r"frozen at .*; \d+ papers \(1 skipped\)", status), status


@pytest.mark.skipif(missing_semantic_package() is not None, reason="the semantic extra is not installed")
def test_picks_with_the_hybrid_ranker_prints_only_the_picks(run_cli):
    load(run_cli)
    subscribe(run_cli, "ada@example.org", "LLM reasoning")
    result = run_cli("picks", "--email", "ada@example.org", "--date", "2025-03-11", "--ranker", "hybrid")
    assert result.exit_code == 0, result.output
    assert "Loading weights" not in result.output and "it/s]" not in result.output
    assert result.stdout.splitlines()[0].startswith(" 1. ")


def test_a_topic_picks_the_same_papers_however_its_words_are_ordered(run_cli):
    # "LLM reasoning" spells out to "large language model reasoning", whose rare phrase "model reason"
    # took most of the topic's weight: it picked 1 paper on this day, and "reasoning in LLMs" 3 others.
    load(run_cli, HF_API / "daily_papers_2025-10-03.json", "2025-10-03")
    subscribe(run_cli, "a@example.org", "LLM reasoning")
    subscribe(run_cli, "b@example.org", "reasoning in LLMs")
    first = [p["arxiv_id"] for p in picks(run_cli, "a@example.org", "2025-10-03")[:10]]
    second = [p["arxiv_id"] for p in picks(run_cli, "b@example.org", "2025-10-03")[:10]]
    assert len(first) == len(second) == 10
    assert len(set(first) & set(second)) >= 8
    # ExGRPO: "improving the reasoning ability of large language models", no "LLM reasoning" in it.
    assert "2510.02245" in first and "2510.02245" in second


def test_an_excluded_word_keeps_a_paper_out_of_the_trending_papers_too(run_cli, db_url):
    load(run_cli)
    # Nothing on this topic: each email is the trending papers, the excluded ones left out.
    subscribe(run_cli, "quiet@example.org", "coral reef ecology")
    store = open_store(DatabaseSettings(url=db_url))
    try:
        edition = Edition.open(store, load_settings(None, {}), date(2025, 3, 11), FIXED_NOW, freeze=False)
        quiet = store.subscribers.by_email("quiet@example.org")
        assert quiet is not None
        (plain,) = edition.plan([quiet])
        assert plain.kind == "trending" and len(plain.trending) == 3
        top = plain.trending[0]
        word = max(re.findall(r"[A-Za-z]{6,}", top.title), key=len).lower()  # a word of the top one's title
        subscribe(run_cli, "picky@example.org", "coral reef ecology", excludes=[word])
        picky = store.subscribers.by_email("picky@example.org")
        assert picky is not None
        (kept,) = edition.plan([picky])
    finally:
        store.dispose()
    assert kept.kind == "trending" and len(kept.trending) == 3
    assert top not in kept.trending
    assert all(excluded(paper, (word,)) is None for paper in kept.trending), word
