"""What the scraper fuzz suites share: the saved API responses they start from, the mutations of text, JSON
values and API items, ids that are nearly arXiv ids, and `check`, which holds a parse to a ScrapeResult of
real arXiv ids and titles that are not blank, or a ScrapeError.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from newsletter.scrape import ScrapeError, ScrapeResult
from tests.conftest import HF_API, HF_MALFORMED

# What an arXiv id is: new style 2407.21783 (4.4 or 4.5 digits) or old style hep-th/9901001, ASCII only,
# nothing before or after (a trailing newline is not part of an id).
ARXIV_STRICT = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z][a-z.\-]*/\d{7})(?:v\d+)?", re.ASCII | re.IGNORECASE)

API_TEXTS: dict[str, str] = {
    p.name: p.read_text(encoding="utf-8") for p in [*sorted(HF_API.glob("*.json")), *HF_MALFORMED.glob("*")]
}
API_ITEMS: dict[str, list[Any]] = {
    name: data for name, text in API_TEXTS.items() if isinstance(data := json.loads(text), list) and data
}
REAL_KEYS = sorted({k for items in API_ITEMS.values() for item in items[:3] if isinstance(item, dict)
                    for k in [*item, *(item.get("paper") or {})]})  # fmt: skip

# Strings that have broken parsers before: JSON and HTML syntax, entities, escapes, odd digits and
# spaces, direction marks, a BOM, NUL, surrogate escapes, and a look-alike arXiv id.
TRICKY = [
    "\x00", "\ufeff", "\u202e", "\u200b", "\u00a0", "\u2028", "²", "٣", "\uff11", "\U0001d7d7", "😀", "ß",
    "İ", '"', "'", "<", ">", "&", "&amp;", "&quot;", "&#0;", "&#x110000;", "\\", "\\u0000", "\\ud800",
    "\\udfff", "{", "}", "[", "]", ",", ":", "null", "true", "false", "-1", "1e999", "NaN", "-Infinity",
    "\n", "\r", "</div>", "<article>", "</article>", '<h3><a href="/papers/2407.21783">', "<!--",
    "]]>", "<script>", "2407.21783", "2407.21783v2", "hep-th/9901001", "/papers/", '"dailyPapers":',
    '"paper":{"id":',
]  # fmt: skip
inserts = st.one_of(st.sampled_from(TRICKY), st.text(max_size=16))
span_sizes = st.sampled_from([1, 2, 8, 64, 512, 4096])


@st.composite
def text_mutations(draw: st.DrawFn, text: str, max_ops: int = 4) -> str:
    """`text` after 1..max_ops random edits: deletion, insertion, truncation, duplication, swap."""
    for _ in range(draw(st.integers(1, max_ops))):
        n = len(text)
        op = draw(st.sampled_from(["delete", "insert", "truncate", "duplicate", "swap", "replace"]))
        i = draw(st.integers(0, n))
        j = min(n, i + draw(span_sizes))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(inserts) + text[i:]
        elif op == "truncate":
            text = text[:i]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "replace":
            text = text[:i] + draw(inserts) + text[j:]
        else:
            k = draw(st.integers(j, n))
            m = min(n, k + draw(span_sizes))
            text = text[:i] + text[k:m] + text[j:k] + text[i:j] + text[m:]
    return text


huge_strings = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["x", "é", "😀", " ", "\u200b", "2407.21783 ", "<b>"]),
    st.integers(1_000, 120_000),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63),
    st.floats(),
    st.text(max_size=40),
    st.sampled_from(TRICKY),
    huge_strings,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(REAL_KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Ids that look nearly right: real ids written in other digit scripts (fullwidth, Arabic-Indic,
# Devanagari, mathematical bold), padded with spaces, newlines or invisible characters.
DIGIT_ZEROS = [0x30, 0x30, 0x30, 0x660, 0x6F0, 0x966, 0xFF10, 0x1D7CE]
PADS = ["", "", "", " ", "\n", "\r\n", "\u200b", "\ufeff"]


def _in_digits(text: str, zero: int) -> str:
    return "".join(chr(zero + int(c)) if c.isascii() and c.isdigit() else c for c in text)


near_arxiv_ids = st.builds(
    lambda head, base, zero, tail: head + _in_digits(base, zero) + tail,
    st.sampled_from([*PADS, "arXiv:", "/"]),
    st.sampled_from(
        ["2407.21783", "2407.21783v2", "2501.00001", "0704.0001", "hep-th/9901001", "math.GT/0309136"]
    ),
    st.sampled_from(DIGIT_ZEROS),
    st.sampled_from([*PADS, "/", "?x=1", "#community", '"', "\\"]),
)


def _mutate_node(draw: st.DrawFn, node: Any) -> Any:
    """Walk into `node` and replace, delete or retype one value somewhere below it."""
    keys: list[Any] = []
    if isinstance(node, dict):
        keys = sorted(node)
    elif isinstance(node, list):
        keys = list(range(len(node)))
    if keys and draw(st.integers(0, 3)) > 0:
        key = draw(st.sampled_from(keys))
        action = draw(st.sampled_from(["descend", "descend", "replace", "delete"]))
        if action == "delete":
            del node[key]
        elif action == "replace":
            node[key] = draw(json_values)
        else:
            node[key] = _mutate_node(draw, node[key])
        return node
    return draw(json_values)


@st.composite
def mutated_items(draw: st.DrawFn, max_items: int = 8) -> list[Any]:
    """A few real API items with 1..6 JSON-structure mutations applied."""
    name = draw(st.sampled_from(sorted(API_ITEMS)))
    start = draw(st.integers(0, len(API_ITEMS[name]) - 1))
    items = copy.deepcopy(API_ITEMS[name][start : start + draw(st.integers(1, max_items))])
    for _ in range(draw(st.integers(1, 6))):
        index = draw(st.integers(0, len(items) - 1))
        items[index] = _mutate_node(draw, items[index])
    if draw(st.booleans()):
        items.append(draw(json_values))
    return items


def check(parse: Callable[[str], ScrapeResult], text: str) -> ScrapeResult | None:
    """Parse `text`; a ScrapeError is a clean refusal, anything else fails the test."""
    try:
        result = parse(text)
    except ScrapeError as exc:
        assert str(exc), "a ScrapeError must say what was wrong"
        return None
    assert isinstance(result, ScrapeResult)
    for listing in result.listings:
        paper = listing.paper
        assert ARXIV_STRICT.fullmatch(paper.arxiv_id), f"not an arXiv id: {paper.arxiv_id!r}"
        assert paper.title.strip(), f"{paper.arxiv_id}: blank title"
    return result
