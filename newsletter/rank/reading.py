"""How a paper is read: its text fields, the abbreviations it gives its own meaning, its terms, and
whether it holds a reader's excluded words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from newsletter.models import Paper
from newsletter.rank.text import (
    BREAK,
    WORD,
    Term,
    abbreviation,
    analyse,
    compounds,
    joined_words,
    long_forms,
    stem,
    stems_of,
    words_of,
)
from newsletter.rank.vocabulary import ABBREVIATIONS, STOPWORDS

# A title word says more about a paper than an abstract word; HF's keywords and summary sit between.
FIELD_WEIGHTS = {"title": 3.0, "keywords": 2.0, "summary": 1.5, "abstract": 1.0}


# Web addresses in a paper's text ("code at https://github.com/naver-ai/merit", "xyz.github.io/"):
# their pieces are not the paper's words, and "ai" or "io" must not match a topic from them.
_ADDRESS = re.compile(
    r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|dev|co|ai)/\S*", re.I
)


@lru_cache(maxsize=16384)  # every pick of a paper is explained from its fields: strip each text once
def _without_addresses(text: str) -> str:
    return _ADDRESS.sub(" ", text)


def paper_fields(paper: Paper) -> dict[str, str]:
    """The text fields a ranker reads, by name, their web addresses left out; absent fields are empty."""
    return {
        "title": paper.title,
        "abstract": _without_addresses(paper.abstract),
        "summary": _without_addresses(paper.ai_summary or ""),
        # One keyword per clause, so no phrase spans two keywords.
        "keywords": " ; ".join(paper.ai_keywords),
    }


def paper_terms(paper: Paper) -> dict[str, tuple[Term, ...]]:
    """The terms of each of a paper's fields, its own definitions of abbreviations respected."""
    fields = paper_fields(paper)
    literal = redefined([text for text in fields.values() if text])
    return {name: analyse(text, literal, paper=True) for name, text in fields.items()}


@lru_cache(maxsize=16384)  # a pool's papers, read again for every distinct set of exclusions
def _stem_clauses(
    text: str, literal: frozenset[str] = frozenset(), paper: bool = False
) -> tuple[tuple[tuple[str, int], ...], ...]:
    """The text's (stem, clause) sequence; and again with its hyphenated compounds as one word, if any."""
    spellings = [tuple((w.stem, w.clause) for w in words_of(text, literal, paper))]
    if compounds(text):
        spellings.append(tuple((w.stem, w.clause) for w in joined_words(text, literal, paper)))
    return tuple(spellings)


def _contains(sequence: Sequence[tuple[str, int]], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    for i in range(len(sequence) - n + 1):
        window = sequence[i : i + n]
        if window[0][1] == window[-1][1] and tuple(s for s, _ in window) == phrase:
            return True
    return False


def excluded(paper: Paper, terms: Sequence[str]) -> str | None:
    """The first of `terms` whose analysed form occurs in the paper's title, abstract, summary or keywords."""
    texts = [text for text in paper_fields(paper).values() if text]
    literal = redefined(texts)
    sequences = [seq for text in texts for seq in _stem_clauses(text, literal, paper=True)]
    for term in terms:
        # "pre-training" drops "pretraining" and the other way round: each spelling against each.
        for phrase in {tuple(s for s, _ in seq) for seq in _stem_clauses(term)}:
            if phrase and any(_contains(seq, phrase) for seq in sequences):
                return term
    return None


# "attack success rate (ASR)": a capitalised abbreviation in parentheses, defined by the words before it.
_DEFINITION = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9]{1,11})\s*\)")


@lru_cache(maxsize=512)
def _spellings(abbrev: str) -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]:
    """The stems of each long form of `abbrev`; and those with their beginnings of two stems or more,
    for a paper may define VLA as "Vision-Language-Action", without the dictionary's "model"."""
    forms = frozenset(stems_of(form) for form in ABBREVIATIONS[abbrev])
    starts = frozenset(form[:n] for form in forms for n in range(min(2, len(form)), len(form) + 1))
    return forms, starts


def _as_written(text: str) -> list[str]:
    """The stems of `text`'s words with no abbreviation spelt out."""
    return [stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS]


def _ends_with(stems: Sequence[str], form: tuple[str, ...]) -> bool:
    """Whether `stems` end with `form`, a stem also matching a longer or shorter one of 4 letters or
    more that it begins ("smaller language models (SLMs)" is the dictionary's small language model)."""
    tail = stems[len(stems) - len(form) :]
    return len(tail) == len(form) and all(
        a == b or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))
        for a, b in zip(tail, form, strict=True)
    )


def _holds(stems: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(stems[i : i + n]) == phrase for i in range(len(stems) - n + 1))


def redefined(texts: Sequence[str]) -> frozenset[str]:
    """See `_redefined`; cached, as a paper is read for its terms, its explanations and exclusions."""
    return _redefined(tuple(texts))


@lru_cache(maxsize=4096)
def _redefined(texts: tuple[str, ...]) -> frozenset[str]:
    """The dictionary abbreviations that `texts` use with another meaning, and never as their long form.

    A paper on jailbreaks reports its "ASR" and writes "attack success rate", one on image generation
    writes "test-time scaling (TTS)": there, ASR is no speech recognition, and stays the word it is. A
    meaning counts when the abbreviation is defined in parentheses after other words, or, for one of
    three letters or more written in capitals, when other words spell its initials at least twice
    (once could be chance: "low-level machines") and its long form appears nowhere.
    """
    longest = long_forms()[2]
    used: set[str] = set()  # written short, in capitals
    other: set[str] = set()
    for text in texts:
        for match in WORD.finditer(text):
            abbrev = abbreviation(match.group())
            if abbrev is not None and match.group() != match.group().lower():
                used.add(abbrev)
        for match in _DEFINITION.finditer(text):
            abbrev = abbreviation(match.group(1))
            if abbrev is None or match.group(1) == match.group(1).lower():
                continue
            # As written, and with abbreviations spelt out ("multimodal LLMs (MLLMs)").
            head = text[: match.start()]
            befores = (
                _as_written(head)[-longest:],
                [w.stem for w in words_of(head, frozenset({abbrev}))][-longest:],
            )
            if not any(_ends_with(before, form) for before in befores for form in _spellings(abbrev)[1]):
                other.add(abbrev)
    written = [_as_written(text) for text in texts]
    ours = {a for a in used | other if any(_holds(w, f) for w in written for f in _spellings(a)[0])}
    initials = [
        "".join(w[0] for w in WORD.findall(clause.lower())) for t in texts for clause in BREAK.split(t)
    ]
    for abbrev in used - ours - other:
        letters = "".join(ch for ch in abbrev if ch.isalpha())
        if len(letters) >= 3 and sum(clause.count(letters) for clause in initials) >= 2:
            other.add(abbrev)
    return frozenset(other - ours)


def excludes_topic(term: str, topic: str) -> bool:
    """Whether the exclusion `term` reads as a part of `topic` ("agentic" and "agents" both stem to
    agent; "reasoning" in "LLM reasoning"), so that it would exclude the papers the topic is for."""
    phrases = {tuple(s for s, _ in seq) for seq in _stem_clauses(term)}
    return any(phrase and _contains(seq, phrase) for phrase in phrases for seq in _stem_clauses(topic))
