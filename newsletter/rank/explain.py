"""Why a paper matched a topic, for the email: the topic's words and phrases the paper holds, as the
topic spells them, never claiming more than matched (an abbreviation from one shared word)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from newsletter.models import Paper
from newsletter.rank.reading import FIELD_WEIGHTS, paper_fields, redefined
from newsletter.rank.text import WORD, Term, analyse, stems_of, surfaces, topic_terms
from newsletter.rank.vocabulary import ABBREVIATIONS


def matched_words(paper: Paper, topic: str) -> tuple[str, ...]:
    """The topic's words and phrases in the paper, most telling first, as the topic spells them."""
    found = _field_counts(tuple(paper_fields(paper).items()))
    terms = topic_terms(topic)
    groups = {t.group: t for ts in terms.values() for t in ts if t.widest}
    matched: list[tuple[int, float, Term]] = []
    for key, occurrences in terms.items():
        term = occurrences[0]
        if key in found and _explains(term, groups):
            matched.append((-len(topic[term.start : term.end].split()), -found[key], term))
    # Longer matches first (a phrase says more than its words), then the more frequent.
    matched.sort(key=lambda m: (m[0], m[1], m[2].start))
    shown = list(surfaces(topic, [(t.start, t.end) for _, _, t in matched]))
    shown += [piece for g in groups.values() for piece in _long_form_parts(g, topic, found)]
    return tuple(piece for piece in shown if not any(_inside(piece, other) for other in shown))


@lru_cache(maxsize=4096)
def _field_counts(fields: tuple[tuple[str, str], ...]) -> Mapping[str, float]:
    """Each term of a paper's fields, counted with its field's weight; cached, as every reader's
    picks explain the same few papers against many topics."""
    found: dict[str, float] = {}
    literal = redefined([text for _, text in fields if text])
    for name, text in fields:
        for term in analyse(text, literal, paper=True):
            found[term.key] = found.get(term.key, 0.0) + FIELD_WEIGHTS[name]
    return MappingProxyType(found)


def _explains(term: Term, groups: dict[int, Term]) -> bool:
    """Whether a matched topic term can be shown as the reason, without claiming more than it matched."""
    if term.widest:
        return True
    if term.group >= 0:
        # A word the topic abbreviated ("models" in "LLM") would show as "LLM", claiming the whole
        # abbreviation; a word the topic spelt out ("networks") shows as itself.
        group = groups[term.group]
        return (term.start, term.end) != (group.start, group.end)
    # A phrase half inside an abbreviation ("LLM reasoning" from "model reason") would also claim it.
    return not any(g.start < term.end and term.start < g.end for g in groups.values())


def _long_form_parts(group: Term, topic: str, found: Mapping[str, float]) -> list[str]:
    """The phrases of an abbreviation the topic spells short ("LLMs") that the paper holds, though
    not the whole ("language model" of a paper on VLMs): shown as what matched, where "LLMs" would
    claim too much and one shared word ("model") too little."""
    if group.key in found or len(topic[group.start : group.end].split()) > 1:
        return []  # the whole matched, or the topic spelt it out and shows its own words
    form = ABBREVIATIONS[group.key][0]
    words = [(w.start(), w.end(), stems_of(w.group())) for w in WORD.finditer(form)]
    runs: list[list[tuple[int, int]]] = []
    for (start, end, stems), before in zip(words, [None, *words], strict=False):
        joined = before is not None and bool(stems and before[2]) and f"{before[2][0]} {stems[0]}" in found
        if joined and runs:
            runs[-1].append((start, end))
        else:
            runs.append([(start, end)])
    return [form[run[0][0] : run[-1][1]] for run in runs if len(run) > 1]


def _inside(piece: str, longer: str) -> bool:
    """Whether `piece` is a word sequence within the different, longer piece `longer`."""
    words = " ".join(piece.lower().replace("-", " ").split())
    other = " ".join(longer.lower().replace("-", " ").split())
    return words != other and f" {words} " in f" {other} "
