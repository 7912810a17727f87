"""Text analysis for ranking: words, stems, ML abbreviations and phrases, each traced to its surface text."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import snowballstemmer

from newsletter.rank.vocabulary import ABBREVIATIONS, CAPITALS_ONLY, CONJUNCTIONS, IDIOMS, STOPWORDS

# Letters and digits make words; hyphens, slashes and other punctuation split them, so
# "vision-language" and "vision language" analyse alike.
WORD = re.compile(r"[^\W_]+")
# Clause punctuation ends a phrase: no phrase spans "robots. Models".
BREAK = re.compile(r"[.,;:!?()\[\]{}\"|]")
# Two letter-only words joined by one hyphen, alone: "pre-training", not "state-of-the-art" or "GPT-4".
_COMPOUND = re.compile(r"(?<![\w-])([^\W\d_]+)-([^\W\d_]+)(?![\w-])")
# An idiom (see IDIOMS) written with spaces or hyphens, in any case.
_IDIOM = re.compile(
    r"(?<![\w-])(?:" + "|".join(r"[\s-]+".join(map(re.escape, i.split())) for i in IDIOMS) + r")(?![\w-])",
    re.IGNORECASE,
)
# What separates the items of a topic list: "speech, audio and music".
_ITEMS = re.compile(r"\s*(?:[,;/&|+]|\band\b|\bor\b)\s*", re.IGNORECASE)

_STEMMER = snowballstemmer.stemmer("english")


@dataclass(frozen=True, slots=True)
class Term:
    """One indexable term of a text: a stem, a two-stem phrase ("robot manipul") or an abbreviation.

    `group` numbers the abbreviation (spelt out or short) that the term belongs to, or is -1:
    "LLM" and "large language models" each give one group of words, phrases and the abbreviation.
    `widest` marks the abbreviation term that stands for its whole group.
    """

    key: str
    start: int
    end: int
    kind: str  # "word", "phrase", "abbrev" or "joined" (a hyphenated compound as one word, see compounds)
    group: int = -1
    widest: bool = False


@dataclass(frozen=True, slots=True)
class Word:
    stem: str
    start: int
    end: int
    clause: int  # punctuation ends a clause: no phrase or abbreviation spans two
    chunk: int  # a conjunction also ends a chunk: no phrase spans "rendering and 3D"


# One spelling for British and American words, so "optimisation" meets "optimization": -ize as
# -ise (optimize, tokenization: Snowball would cut "tokenization" to "token", but "tokenisation" to
# "tokenis", which keeps it apart from "tokens"), -yze as -yse (analyze), and -our as -or (behaviour).
_SPELLINGS = (
    (re.compile(r"(?<=\w{3})iz(e|es|ed|ing|ation|ations|er|ers)$"), r"is\1"),
    (re.compile(r"(?<=\w{3})yz(e|es|ed|ing|er|ers)$"), r"ys\1"),
    (re.compile(r"(?<=\w{3})our(s|ed|ing|al)?$"), r"or\1"),
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The snowball stem of one lowercase word, its spelling made one first (see _SPELLINGS)."""
    for pattern, spelling in _SPELLINGS:
        word = pattern.sub(spelling, word)
    return str(_STEMMER.stemWord(word))


def stems_of(phrase: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in WORD.findall(phrase.lower()) if w not in STOPWORDS)


@lru_cache(maxsize=1)
def long_forms() -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, ...], str], int]:
    """Expansions (abbreviation -> its first long form's stems) and the reverse index over all long forms."""
    expand: dict[str, tuple[str, ...]] = {}
    contract: dict[tuple[str, ...], str] = {}
    for abbrev, forms in ABBREVIATIONS.items():
        expand[abbrev] = stems_of(forms[0])
        for form in forms:
            contract[stems_of(form)] = abbrev
    return expand, contract, max(len(key) for key in contract)


def abbreviation(word: str) -> str | None:
    """The dictionary abbreviation that `word` spells ("LLMs" -> "llm"), if any."""
    expand = long_forms()[0]
    lower = word.lower()
    candidates = [lower, lower[:-1]] if lower.endswith("s") and len(lower) > 2 else [lower]
    for candidate in candidates:
        if candidate in expand:
            # An abbreviation that is also an English word ("rag", "slam") counts only in capitals.
            if candidate in CAPITALS_ONLY and word == lower:
                return None
            return candidate
    return None


def spell_out(text: str) -> str:
    """`text` with each abbreviation replaced by its long form ("ML" -> "machine learning")."""

    def replace(match: re.Match[str]) -> str:
        abbrev = abbreviation(match.group())
        return match.group() if abbrev is None else ABBREVIATIONS[abbrev][0]

    return WORD.sub(replace, text)


def words_of(text: str, literal: frozenset[str] = frozenset(), paper: bool = False) -> list[Word]:
    """Stems of the non-stopwords of `text` in order; an abbreviation expands into its long form's stems,
    unless it is `literal` (the text gives it another meaning: see `redefined`). A `paper`'s text also
    leaves out the words of set phrases (IDIOMS); what a reader types keeps them, as they meant them."""
    words: list[Word] = []
    clause = chunk = 0
    last = 0
    expand = long_forms()[0]
    idioms = [(m.start(), m.end()) for m in _IDIOM.finditer(text)] if paper else []
    for match in WORD.finditer(text):
        if BREAK.search(text, last, match.start()):
            clause += 1
            chunk += 1
        last = match.end()
        if any(start <= match.start() < end for start, end in idioms):
            chunk += 1  # an idiom's words are stopwords, and no phrase spans one
            continue
        surface = match.group()
        abbrev = abbreviation(surface)
        if abbrev is not None:
            if abbrev in literal:
                # Another meaning than the dictionary's: a word of its own, never matched by the topic "ASR".
                words.append(Word(f"~{abbrev}", match.start(), match.end(), clause, chunk))
            else:
                words.extend(Word(s, match.start(), match.end(), clause, chunk) for s in expand[abbrev])
            continue
        lower = surface.lower()
        if lower in CONJUNCTIONS:
            chunk += 1
        # An acronym that spells a stopword ("DID", difference-in-differences) is still a word.
        if lower not in STOPWORDS or (len(surface) > 1 and surface.isupper()):
            words.append(Word(stem(lower), match.start(), match.end(), clause, chunk))
    return words


def compounds(text: str) -> list[tuple[int, int, str]]:
    """(start, end, stem) of each two-word hyphenated compound of `text` written as one word.

    "pre-training" also reads as "pretraining" and "multi-modal" as "multimodal": papers write both,
    and the words alone ("pre", "modal") miss the other spelling. Abbreviations and stopwords stay
    apart ("LLM-based" is the abbreviation and "based").
    """
    found: list[tuple[int, int, str]] = []
    for match in _COMPOUND.finditer(text):
        parts = match.group(1, 2)
        if any(abbreviation(part) is not None or part.lower() in STOPWORDS for part in parts):
            continue
        found.append((match.start(), match.end(), stem("".join(parts).lower())))
    return found


def joined_words(text: str, literal: frozenset[str] = frozenset(), paper: bool = False) -> list[Word]:
    """`words_of(text)` with each hyphenated compound as one word, its other spelling (see compounds)."""
    words = words_of(text, literal, paper)
    for start, end, key in reversed(compounds(text)):
        inside = [i for i, w in enumerate(words) if start <= w.start and w.end <= end]
        if len(inside) == 2:
            first = words[inside[0]]
            words[inside[0] : inside[1] + 1] = [Word(key, start, end, first.clause, first.chunk)]
    return words


def _abbreviation_windows(words: Sequence[Word]) -> list[tuple[int, int, str]]:
    """(first, past-last, abbreviation) for each run of stems that spells out a dictionary long form."""
    _, contract, longest = long_forms()
    windows: list[tuple[int, int, str]] = []
    for i in range(len(words)):
        for n in range(2, longest + 1):
            window = words[i : i + n]
            if len(window) < n or window[-1].clause != window[0].clause:
                break
            abbrev = contract.get(tuple(w.stem for w in window))
            if abbrev is not None:
                windows.append((i, i + n, abbrev))
    return windows


@lru_cache(maxsize=32768)
def analyse(text: str, literal: frozenset[str] = frozenset(), paper: bool = False) -> tuple[Term, ...]:
    """The terms of `text`: stems, adjacent-stem phrases, abbreviations found spelt out or short
    (those in `literal` only as they are written), and hyphenated compounds as one word; a `paper`'s
    text without the words of set phrases (see words_of)."""
    words = words_of(text, literal, paper)
    windows = sorted(_abbreviation_windows(words), key=lambda w: (w[0] - w[1], w[0]))
    # Each stem belongs to the widest abbreviation around it ("MLLM" holds "LLM" and "LM").
    group = [-1] * len(words)
    widest: set[int] = set()
    for number, (begin, past, _) in enumerate(windows):
        if group[begin] == -1:
            widest.add(number)
        for i in range(begin, past):
            if group[i] == -1:
                group[i] = number
    terms = [Term(w.stem, w.start, w.end, "word", group[i]) for i, w in enumerate(words)]
    for i, (first, second) in enumerate(pairwise(words)):
        # Phrases inside an expanded abbreviation count too, so "RL" and "reinforcement
        # learning" give the same terms.
        if first.chunk == second.chunk and first.stem != second.stem:
            same = group[i] if group[i] == group[i + 1] else -1
            terms.append(Term(f"{first.stem} {second.stem}", first.start, second.end, "phrase", same))
    for number, (begin, past, abbrev) in enumerate(windows):
        start, end = words[begin].start, words[past - 1].end
        terms.append(Term(abbrev, start, end, "abbrev", group[begin], number in widest))
    for start, end, key in compounds(text):
        # An abbreviation's long form ("retrieval-augmented generation") already meets its other spellings.
        if all(group[i] == -1 for i, w in enumerate(words) if start <= w.start < end):
            terms.append(Term(key, start, end, "joined"))
    return tuple(terms)


def topic_terms(topic: str) -> dict[str, list[Term]]:
    """The distinct terms of a topic, each with where it occurs in the topic's text."""
    terms: dict[str, list[Term]] = {}
    for term in analyse(topic):
        terms.setdefault(term.key, []).append(term)
    return terms


def topic_items(topic: str) -> list[str]:
    """The items of a topic that lists several ("speech, audio and music"), or [] for a single one."""
    items = [item for item in _ITEMS.split(topic) if WORD.search(item)]
    return items if len(items) > 1 else []


def surfaces(text: str, spans: Sequence[tuple[int, int]]) -> Iterator[str]:
    """The distinct pieces of `text` at `spans`, in order, whitespace collapsed."""
    seen: set[str] = set()
    for start, end in spans:
        piece = " ".join(text[start:end].split())
        if piece and piece.lower() not in seen:
            seen.add(piece.lower())
            yield piece
