"""Pure parsers: Hugging Face pages and API responses in, `Listing`s out; never touches the network."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bs4 import BeautifulSoup, Tag

from newsletter.models import Listing, Paper

log = logging.getLogger(__name__)

# ASCII only, and matched whole (fullmatch): "$" alone would let a trailing newline through.
ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z.\-]*/\d{7})(v\d+)?", re.IGNORECASE | re.ASCII)
# Counts are stored as 64-bit integers; anything larger is not a real count.
MAX_COUNT = 2**63 - 1
_SURROGATES = re.compile("[\ud800-\udfff]")
METHOD_JSON = "embedded json"
METHOD_CARDS = "html cards"
METHOD_API = "api json"
MAX_SKIP_WARNINGS = 3


class ScrapeError(Exception):
    """A document that holds no readable papers; the message says what was wrong."""


@dataclass(frozen=True, slots=True)
class ScrapeResult:
    listings: list[Listing]
    method: str
    skipped: int


def parse_document(text: str, listing_date: date | None = None) -> ScrapeResult:
    """Parse a saved API response or a saved papers page, whichever `text` is."""
    # Editors and Windows tools save UTF-8 with a byte-order mark; it hid the JSON's "[".
    text = text.removeprefix("\ufeff")
    head = text.lstrip()[:1]
    if head in ("[", "{"):
        return parse_api(text, listing_date)
    return parse_page(text, listing_date)


def parse_api(text: str, listing_date: date | None = None) -> ScrapeResult:
    """Parse a `/api/daily_papers` response: a bare JSON array of daily-paper items."""
    try:
        data = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("<"):  # a proxy's or HF's error page, served with a 200
            raise ScrapeError("expected JSON, got an HTML page") from None
        raise ScrapeError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ScrapeError("JSON nested too deeply to read") from None
    if isinstance(data, dict) and isinstance(data.get("dailyPapers"), list):
        data = data["dailyPapers"]
    if not isinstance(data, list):
        raise ScrapeError(f"expected a JSON array of papers, got a JSON {type(data).__name__}")
    return _items_to_result(data, listing_date, METHOD_API)


def parse_page(html: str, listing_date: date | None = None) -> ScrapeResult:
    """Parse a papers page: the embedded DailyPapers JSON first, the HTML cards as fallback."""
    soup = BeautifulSoup(html, "lxml")
    props, why_not = _embedded_props(soup)
    embedded: ScrapeResult | None = None
    if props is not None:
        listing_date = listing_date or _page_date(props)
        try:
            embedded = _items_to_result(props["dailyPapers"], listing_date, METHOD_JSON)
        except ScrapeError as exc:
            why_not = f"embedded json unusable ({exc})"
        if embedded is not None and embedded.listings:
            return embedded
        # JSON in a shape we cannot read, or empty, while the page shows cards: HF changed one
        # and not the other, and the cards are what the visitor sees.
        why_not = why_not or "embedded json lists no papers"
    cards = soup.select("article")
    listings = [Listing(p, listing_date) for p in map(_paper_from_card, cards) if p is not None]
    if listings:
        return ScrapeResult(_dedupe(listings), f"{METHOD_CARDS}; {why_not}", len(cards) - len(listings))
    if embedded is not None:
        return embedded  # an empty day: the JSON lists nothing and no card holds a paper
    if not cards:
        raise ScrapeError(f"no paper data: {why_not}, and no paper cards (<article>) in the page")
    raise ScrapeError(f"no paper data: {why_not}, and none of {len(cards)} cards held a paper")


def _embedded_props(soup: BeautifulSoup) -> tuple[dict[str, Any] | None, str]:
    """The hydrater props that carry a `dailyPapers` list, or None and the reason."""
    candidates = soup.select('[data-target="DailyPapers"][data-props]')
    candidates += [div for div in soup.select(".SVELTE_HYDRATER[data-props]") if div not in candidates]
    reason = "embedded json missing"
    for div in candidates:
        raw = div.get("data-props")
        if not isinstance(raw, str):
            continue
        try:
            # BeautifulSoup has already decoded the attribute's entities; unescaping again
            # would corrupt titles that contain "&amp;".
            props = json.loads(raw)
        except RecursionError:
            reason = "embedded json nested too deeply"
            continue
        except json.JSONDecodeError as exc:
            if div.get("data-target") == "DailyPapers":
                reason = f"embedded json unreadable ({exc.msg})"
            continue
        if isinstance(props, dict) and isinstance(props.get("dailyPapers"), list):
            return props, ""
    return None, reason


def _page_date(props: dict[str, Any]) -> date | None:
    value = props.get("date")
    parsed = _parse_datetime(value) if isinstance(value, str) else None
    return parsed.date() if parsed else None


def _items_to_result(items: list[Any], listing_date: date | None, method: str) -> ScrapeResult:
    listings: dict[str, Listing] = {}
    skipped = 0
    for index, item in enumerate(items):
        try:
            paper, item_date = paper_from_item(item)
            if paper.arxiv_id in listings:
                # Counted as skipped, not silently dropped: the API pager stops at the first page
                # holding fewer than `limit` papers plus skips, and a duplicate is still one item.
                raise ValueError(f"{paper.arxiv_id}: listed twice; the first listing is kept")
        except (KeyError, TypeError, ValueError) as exc:
            skipped += 1
            if skipped <= MAX_SKIP_WARNINGS:
                log.warning("scrape: skipped item %d: %s", index, _describe(exc))
            continue
        listings[paper.arxiv_id] = Listing(paper, listing_date or item_date)
    if skipped > MAX_SKIP_WARNINGS:
        log.warning("scrape: skipped %d more items", skipped - MAX_SKIP_WARNINGS)
    if items and not listings:
        raise ScrapeError(f"none of the {len(items)} items is a readable paper")
    return ScrapeResult(list(listings.values()), method, skipped)


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)


def _dedupe(listings: Iterable[Listing]) -> list[Listing]:
    """One listing per paper; the first occurrence wins, as the page ranks it first."""
    seen: dict[str, Listing] = {}
    for listing in listings:
        seen.setdefault(listing.paper.arxiv_id, listing)
    return list(seen.values())


def paper_from_item(item: Any) -> tuple[Paper, date | None]:
    """One daily-papers item (API or embedded JSON) as a Paper and the date it was listed."""
    if not isinstance(item, dict):
        raise TypeError(f"item is a {type(item).__name__}, not an object")
    raw = item["paper"]
    if not isinstance(raw, dict):
        raise TypeError("'paper' is not an object")
    arxiv_id = _bare_id(_text(raw["id"]))
    if arxiv_id is None:
        raise ValueError(f"not an arXiv id: {raw['id']!r}")
    title = _collapse(_text(raw.get("title")) or _text(item.get("title")))
    if not title:
        raise ValueError(f"{arxiv_id}: no title")
    authors = raw.get("authors") or []
    if not isinstance(authors, list):
        raise TypeError(f"{arxiv_id}: 'authors' is not a list")
    submitted = _parse_datetime(raw.get("submittedOnDailyAt"))
    listed_at = submitted or _parse_datetime(item.get("publishedAt"))
    paper = Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=_collapse(_text(raw.get("summary")) or _text(item.get("summary"))),
        authors=tuple(
            _collapse(_text(a.get("name"))) for a in authors if isinstance(a, dict) and _text(a.get("name"))
        ),
        upvotes=_int(raw.get("upvotes")),
        published_at=_parse_datetime(raw.get("publishedAt")),
        submitted_at=listed_at,
        thumbnail=_text(item.get("thumbnail")) or _text(item.get("mediaUrl")) or None,
        github_repo=_text(raw.get("githubRepo")) or None,
        github_stars=_int(raw.get("githubStars")),
        project_page=_text(raw.get("projectPage")) or None,
        ai_summary=_collapse(_text(raw.get("ai_summary"))) or None,
        ai_keywords=_keywords(raw.get("ai_keywords")),
        num_comments=_int(item.get("numComments")),
        organization=_organization(item.get("organization") or raw.get("organization")),
    )
    return paper, listed_at.date() if listed_at else None


def _paper_from_card(card: Tag) -> Paper | None:
    link = card.select_one('h3 > a[href^="/papers/"]')
    if link is None:
        return None
    href = str(link.get("href", ""))
    arxiv_id = _bare_id(href.removeprefix("/papers/").split("?")[0].split("#")[0].strip("/"))
    title = _collapse(link.get_text(" "))
    if arxiv_id is None or not title:
        return None
    thumbnail = None
    # Compared as a value, never pasted into a CSS selector: a scraped href may hold quotes.
    for anchor in card.find_all("a", href=True):
        image = anchor.find("img", src=True) if anchor["href"] == href else None
        if image is not None and str(image["src"]).startswith("http"):
            thumbnail = str(image["src"])
            break
    comments = card.select_one('a[href$="#community"]')
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        upvotes=_card_upvotes(card),
        thumbnail=thumbnail,
        num_comments=_int(_collapse(comments.get_text(" "))) if comments else None,
    )


def _card_upvotes(card: Tag) -> int | None:
    """The vote count: the number beside the vote checkbox, else the first bare number."""
    checkbox = card.select_one('input[type="checkbox"]')
    scopes = [checkbox.parent] if checkbox is not None and checkbox.parent is not None else []
    scopes.append(card)
    for scope in scopes:
        for text in scope.find_all(string=True):
            if text.find_parent("h3") is not None:
                continue
            value = _int(text.strip())
            if value is not None:
                return value
    return None


def _bare_id(text: str) -> str | None:
    """The arXiv id without its version ("2401.00001v2" is 2401.00001), or None if `text` is not one."""
    # One paper is one row: HF lists bare ids, so a versioned one must not become a second paper.
    match = ARXIV_ID.fullmatch(text)
    return match.group(1) if match else None


def _keywords(value: Any) -> tuple[str, ...]:
    """HF's AI keywords: a list of strings; any other shape is no keywords."""
    # Iterating a string or an object would turn "diffusion" into nine one-letter keywords.
    if not isinstance(value, list):
        return ()
    return tuple(_collapse(_text(k)) for k in value if _text(k))


def _organization(value: Any) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("fullname")) or _text(value.get("name")) or None
    return None


def _text(value: Any) -> str:
    # JSON may carry lone surrogates ("\ud800"), which no database or email can encode.
    return _SURROGATES.sub("\ufffd", value).strip() if isinstance(value, str) else ""


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _int(value: Any) -> int | None:
    """A count from JSON or page text: a non-negative int that fits 64 bits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        value = int(text) if text.isascii() and text.isdecimal() else None
    if isinstance(value, int) and 0 <= value <= MAX_COUNT:
        return value
    return None


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # HF writes UTC ("...Z"); a stamp without a zone ("2024-08-01T10:00:00", "2024-07-31") is read as
    # UTC too, since the store refuses naive datetimes and one such item used to fail the whole fetch.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
