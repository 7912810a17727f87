"""Text analysis for ranking: abbreviations, inflections, spellings and compounds, as papers write them."""

from __future__ import annotations

import re

import numpy as np
import pytest

from newsletter.models import Paper
from newsletter.rank import LexicalScorer, excluded
from newsletter.rank.reading import paper_fields, redefined
from newsletter.rank.text import analyse, spell_out, topic_items
from tests.rank_support import hf_papers, keys, paper, score_of


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("LLM", "large language model"),
        ("RL", "reinforcement learning"),
        ("VLM", "vision-language model"),
        ("RAG", "retrieval-augmented generation"),
        ("ASR", "automatic speech recognition"),
        ("NeRF", "neural radiance fields"),
        ("MoE", "mixture of experts"),
        ("NLP", "natural language processing"),
        ("GANs", "generative adversarial networks"),
        ("ViT", "vision transformer"),
        ("TTS", "text-to-speech"),
    ],
)
def test_an_abbreviation_and_its_long_form_analyse_alike(short: str, long: str) -> None:
    assert keys(short) == keys(long)


def test_plurals_hyphens_and_slashes_analyse_alike() -> None:
    assert keys("diffusion models") == keys("diffusion model")
    assert keys("vision language") < keys("vision-language")  # and "visionlanguage", below
    assert keys("encoder/decoder models") == keys("encoder decoder models")


def test_a_hyphenated_compound_also_reads_as_one_word() -> None:
    assert keys("multimodal") < keys("multi-modal")
    assert keys("pretraining") < keys("pre-training")
    assert keys("Fine-Tuning") == keys("fine tuning") | keys("finetuning")
    # Not an abbreviation, a stopword, a number, or a chain of more than two words.
    for text in ("LLM-based", "retrieval-augmented generation", "on-device", "GPT-4", "state-of-the-art"):
        assert keys(text) == keys(text.replace("-", " ")), text


@pytest.mark.parametrize(
    ("hyphenated", "joined"), [("pre-training", "pretraining"), ("multi-modal", "multimodal")]
)
def test_a_compound_picks_the_same_papers_hyphenated_or_not(hyphenated: str, joined: str) -> None:
    # On the HF fixture days papers write both; "pre-training" and "pretraining" shared 1 paper of
    # 21 and 16 when the hyphen only split words.
    papers = list(hf_papers())
    scores = LexicalScorer().score(papers, [hyphenated, joined])
    chosen = [{papers[i].arxiv_id for i in np.flatnonzero(row >= 0.2)} for row in scores]
    assert chosen[0] == chosen[1]
    assert len(chosen[0]) >= 10
    writings = [" ".join(p.title.split() + p.abstract.split()).lower() for p in papers]
    assert any(hyphenated in text and joined not in text for text in writings)
    assert any(joined in text and hyphenated not in text for text in writings)


def test_an_exclusion_drops_a_compound_either_way_it_is_written() -> None:
    hyphen = Paper(arxiv_id="0000.00001", title="Pre-training at scale", abstract="We study it.")
    joined = Paper(arxiv_id="0000.00002", title="Pretraining at scale", abstract="We study it.")
    for term in ("pre-training", "pretraining", "pre training"):
        assert excluded(hyphen, [term]) == term
    assert excluded(joined, ["pre-training"]) == "pre-training"
    assert excluded(joined, ["pretraining"]) == "pretraining"


def test_british_and_american_spellings_analyse_alike() -> None:
    assert keys("optimisation of tokenisers") == keys("optimization of tokenizers")
    assert keys("analyse behaviour") == keys("analyze behavior")
    # And a tokenizer is not a token, nor generalization the word "general".
    assert keys("tokenization").isdisjoint(keys("tokens"))
    assert keys("generalization").isdisjoint(keys("general"))
    # Words of the same root still meet: supervised learning and supervision.
    assert keys("supervised") == keys("supervision")


def test_an_abbreviation_that_is_a_word_needs_capitals() -> None:
    assert "rag" in keys("RAG pipelines")
    assert "retriev" not in keys("a rag doll")


@pytest.mark.parametrize(
    ("texts", "other"),
    [
        (["We raise the attack success rate (ASR) to 90%."], {"asr"}),  # defined as something else
        (["Test-time scaling (TTS) helps image generation."], {"tts"}),
        (["Automatic speech recognition (ASR) systems."], set()),  # defined as the dictionary's
        (
            ["Multimodal LLMs (MLLMs) see.", "Smaller language models (SLMs) run."],
            set(),
        ),  # spelt short, inflected
        (["Vision-Language-Action (VLA) agents act."], set()),  # the dictionary's form, its "model" left out
        # Used short, another meaning spelt out twice and the dictionary's never: another meaning.
        (["25.9% higher ASR.", "Higher attack success rates.", "attack success rate"], {"asr"}),
        (["LLMs are low-level machines."], set()),  # initials spelt once: chance
        (["ASR for Whisper.", "attack success rate", "automatic speech recognition"], set()),  # ours too
    ],
)
def test_an_abbreviation_a_paper_gives_another_meaning_is_left_as_written(
    texts: list[str], other: set[str]
) -> None:
    assert redefined(texts) == other


def test_a_paper_that_means_another_asr_or_tts_matches_neither_topic() -> None:
    # DialTree-RPO reports "higher ASR", its attack success rate; "Go with Your Gut" defines
    # "Test-time scaling (TTS)". Before, each matched a topic on speech.
    for topic in ("speech recognition", "ASR", "text-to-speech", "TTS"):
        assert score_of(topic, "2510.02286") < 0.05 and score_of(topic, "2509.26376") < 0.05
    assert score_of("speech recognition", "2407.21783") > 0.2  # Llama 3: its speech recognition


def test_topic_items_split_lists_only() -> None:
    assert topic_items("computer graphics, rendering and 3D avatars") == [
        "computer graphics",
        "rendering",
        "3D avatars",
    ]
    assert topic_items("human-computer interaction") == []


def test_spell_out_expands_abbreviations_for_the_model() -> None:
    assert spell_out("LLMs for ML") == "large language model for machine learning"


def test_excluded_names_the_first_term_found_in_any_inflection() -> None:
    survey_paper = paper("2503.04629")  # SurveyForge: "surveys" in its text
    assert excluded(survey_paper, ["medical", "survey"]) == "survey"
    assert excluded(survey_paper, ["protein folding"]) is None
    vlm_paper = paper("2503.07603")  # says "VLMs", never spelt out
    assert excluded(vlm_paper, ["vision-language models"]) == "vision-language models"


def test_web_addresses_in_a_paper_are_not_its_words() -> None:
    # A real abstract whose only "ai" is its code's address, https://github.com/naver-ai/merit.
    (found,) = [p for p in hf_papers() if "github.com/naver-ai" in p.abstract]
    assert not re.search(r"\bAI\b", found.title + found.abstract.replace("naver-ai", ""), re.I)
    assert LexicalScorer().explain(found, "AI") == ()
    assert score_of("AI", found.arxiv_id) == 0.0
    # Text that only looks like an address stays: "e.g.", "data.Set", a sentence ending before "AI".
    plain = "e.g. data.Set and co-training.AI helps; U.S. labs"
    assert paper_fields(Paper("x", "t", plain))["abstract"] == plain


def test_the_words_of_state_of_the_art_and_like_idioms_are_no_topic() -> None:
    for written in ("state-of-the-art results", "State of the art results", "an off-the-shelf model"):
        terms = {term.key for term in analyse(written, paper=True)}
        assert not terms & {"state", "art", "shelf", "state art"}, written
    assert keys("a state space model for art history") >= {"state", "space", "art", "state space"}
    # What a reader types keeps its words: "off-the-shelf models" is not just "models".
    assert {"shelf", "plug", "play"} <= keys("off-the-shelf models") | keys("plug-and-play priors")

    # Real abstracts that claim state-of-the-art results and say nothing else of art, nor of state.
    def clean(p: Paper) -> str:
        return re.sub(r"state[- ]of[- ]the[- ]art", "", f"{p.title} {p.abstract} {p.ai_summary}", flags=re.I)

    claims = [p for p in hf_papers() if re.search(r"state-of-the-art", p.abstract, re.I)]
    plain = [p for p in claims if not re.search(r"\b(art|state)", clean(p), re.I)]
    assert len(plain) >= 10
    for p in plain:
        assert score_of("art", p.arxiv_id) < 0.05, p.title  # "relevant" starts at 0.2
        why = LexicalScorer().explain(p, "state space models")
        assert not any("state" in words for words in why), (p.title, why)
