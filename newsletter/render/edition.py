"""One issue's emails: the shared markup rendered and inlined once, each subscriber's email joined from it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import jinja2
import premailer
from markupsafe import Markup, escape

from newsletter.models import Paper, Pick, Subscriber
from newsletter.render.filters import http_url, printable, why_lines
from newsletter.render.lines import Period, preheader_line, subject_line
from newsletter.render.pieces import FIRST_PIECE, Marks, Piece

HTML_SHEET = "email/edition.html.j2"
TEXT_SHEET = "email/edition.txt.j2"
HTML_PAGE = "email/digest.html.j2"
TEXT_PAGE = "email/digest.txt.j2"

Inline = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Links:
    """A subscriber's signed manage and unsubscribe URLs, computed by the caller."""

    manage: str
    unsubscribe: str

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not http_url(value):
                raise ValueError(f"Links.{field.name}: not an absolute http(s) URL: {value!r}")


@dataclass(frozen=True, slots=True)
class Masthead:
    """Issue-wide text from config: the brand in the header and the postal/contact line in the footer."""

    brand: str
    postal_line: str


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """The finished parts of one email."""

    subject: str
    preheader: str
    html: str
    text: str


def premailer_inline(html: str) -> str:
    """`html` with its <style> rules moved into style attributes; the data-premailer="ignore" block stays."""
    inliner = premailer.Premailer(
        base_url=None,
        # Classes stay: the media queries for mobile and dark mode still select by them.
        remove_classes=False,
        keep_style_tags=False,
        exclude_pseudoclasses=True,
        # cssutils would reject mso-* properties and log a warning for each one.
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        allow_network=False,
        allow_loading_external_files=False,
        align_floating_images=False,
        # "height:auto" would otherwise become the invalid attribute height="auto" on thumbnails.
        disable_basic_attributes=["height"],
    )
    # No pretty printing: it would re-indent around the cut markers and so differ between sheet and page.
    out: str = inliner.transform(html, pretty_print=False)
    return out


@dataclass(frozen=True, slots=True)
class _Layout:
    """One part's (HTML or text) pieces arranged for joining; per-paper strings by pool position."""

    top: Piece
    headline_one: Piece
    headline_many: Piece
    headline_empty: Piece
    # A picked paper is lead + why line + tail; a card without a why line (the empty day) is bare.
    lead: tuple[str, ...]
    tail: tuple[str, ...]
    bare: tuple[str, ...]
    trending: str
    trend: tuple[str, ...]
    footer: Piece

    @classmethod
    def from_pieces(cls, pieces: Mapping[str, Piece], size: int, part: str) -> _Layout:
        """The layout of a split sheet; a missing piece means the templates and this code disagree."""

        def get(name: str, slots: tuple[str, ...] | None = ()) -> Piece:
            piece = pieces.get(name)
            if piece is None:
                raise ValueError(f"{part} sheet: no piece {name!r}; check the cut() calls in the templates")
            if slots is not None and piece.slots != slots:
                raise ValueError(f"{part} sheet: piece {name!r} has slots {piece.slots}, expected {slots}")
            return piece

        card = [get(f"card:{i}").fragments[0] for i in range(size)]
        why = [get(f"why:{i}", ("why",)).fragments for i in range(size)]
        end = [get(f"end:{i}").fragments[0] for i in range(size)]
        return cls(
            top=get(FIRST_PIECE, None),
            headline_one=get("headline.one", None),
            headline_many=get("headline.many", None),
            headline_empty=get("headline.empty", ("when",)),
            lead=tuple(c + w[0] for c, w in zip(card, why, strict=True)),
            tail=tuple(w[1] + e for w, e in zip(why, end, strict=True)),
            bare=tuple(c + e for c, e in zip(card, end, strict=True)),
            trending=get("trending").fragments[0],
            trend=tuple(get(f"trend:{i}").fragments[0] for i in range(size)),
            footer=get("footer", None),
        )

    def join(
        self, picks: Sequence[int], whys: Sequence[str], trending: Sequence[int], values: Mapping[str, str]
    ) -> str:
        """One email's part: the pieces for these pool positions, with the (escaped) values filled in."""
        out = [self.top.fill(values)]
        if picks:
            out.append((self.headline_one if len(picks) == 1 else self.headline_many).fill(values))
            for i, why in zip(picks, whys, strict=True):
                out += (self.lead[i], why, self.tail[i])
            if trending:
                out.append(self.trending)
                out += (self.trend[i] for i in trending)
        else:
            # The empty day shows the trending papers as full cards, without a "why" line.
            out.append(self.headline_empty.fill(values))
            out += (self.bare[i] for i in trending)
        out.append(self.footer.fill(values))
        return "".join(out)


class EditionRenderer:
    """Renders one issue for many subscribers: templates and premailer once, then string joins per email."""

    def __init__(
        self,
        env: jinja2.Environment,
        issue_date: date,
        pool: Sequence[Paper],
        masthead: Masthead,
        inline: Inline = premailer_inline,
    ) -> None:
        self.issue_date = issue_date
        self.masthead = masthead
        self._index: dict[str, int] = {}
        papers: list[Paper] = []
        for paper in pool:
            # The first copy of a paper wins, so a pool with repeats still gives one card per paper.
            if paper.arxiv_id not in self._index:
                self._index[paper.arxiv_id] = len(papers)
                papers.append(paper)
        self.pool: tuple[Paper, ...] = tuple(papers)
        marks = Marks()

        def cut(kind: str, arxiv_id: str | None = None) -> Markup:
            return marks.cut(kind if arxiv_id is None else f"{kind}:{self._index[arxiv_id]}")

        context: dict[str, Any] = {
            "issue_date": issue_date,
            "masthead": masthead,
            "pool": self.pool,
            "cut": cut,
            "count": marks.slot("count"),
            "period": marks.slot("period"),
            "when": marks.slot("when"),
            "why": marks.slot("why"),
            "subject": marks.slot("subject"),
            "preheader": marks.slot("preheader"),
            "recipient": marks.slot("recipient"),
            "manage_url": marks.slot("manage"),
            "unsubscribe_url": marks.slot("unsubscribe"),
        }
        # The one premailer call of the issue: every card, trending entry and shell variant in one sheet.
        html_sheet = wire_text(inline(env.get_template(HTML_SHEET).render(context)))
        text_sheet = wire_text(env.get_template(TEXT_SHEET).render(context))
        size = len(self.pool)
        self._html = _Layout.from_pieces(marks.split(html_sheet), size, "HTML")
        self._text = _Layout.from_pieces(marks.split(text_sheet), size, "text")

    def render(
        self, subscriber: Subscriber, picks: Sequence[Pick], trending: Sequence[Paper], links: Links
    ) -> RenderedEmail:
        """One subscriber's email, joined from the issue's inlined pieces: no template, no premailer."""
        pick_at = [self._position(pick.paper) for pick in picks]
        trend_at = [self._position(paper) for paper in trending]
        # Topics are typed by subscribers, so their values get the cleaning the templates give scraped text.
        reasons = [printable(pick.reason()) for pick in picks]
        period = Period.of(subscriber)
        subject = subject_line(self.issue_date, picks, trending, period)
        preheader = preheader_line(picks, trending, period)
        raw = {
            "subject": subject,
            "preheader": preheader,
            "recipient": printable(subscriber.email),
            "manage": links.manage,
            "unsubscribe": links.unsubscribe,
            "count": str(len(picks)),
            "period": period.headline,
            "when": period.when,
        }
        html_values = {name: str(escape(value)) for name, value in raw.items()}
        html = self._html.join(pick_at, [str(escape(r)) for r in reasons], trend_at, html_values)
        # Wrapped why lines break as the sheet does, in CRLF (wire_text ran on it before).
        text_whys = [why_lines(r).replace("\n", "\r\n") for r in reasons]
        text = self._text.join(pick_at, text_whys, trend_at, raw)
        return RenderedEmail(subject=subject, preheader=preheader, html=html, text=text)

    def _position(self, paper: Paper) -> int:
        position = self._index.get(paper.arxiv_id)
        if position is None:
            raise KeyError(f"paper {paper.arxiv_id} is not in the pool this EditionRenderer was built with")
        return position


def _no_cut(kind: str, arxiv_id: str | None = None) -> str:
    return ""


def render_standalone(
    env: jinja2.Environment,
    issue_date: date,
    masthead: Masthead,
    subscriber: Subscriber,
    picks: Sequence[Pick],
    trending: Sequence[Paper],
    links: Links,
    inline: Inline = premailer_inline,
) -> RenderedEmail:
    """The slow reference: a full Jinja page and a premailer call per email; EditionRenderer equals it."""
    period = Period.of(subscriber)
    subject = subject_line(issue_date, picks, trending, period)
    preheader = preheader_line(picks, trending, period)
    context: dict[str, Any] = {
        "issue_date": issue_date,
        "masthead": masthead,
        "picks": picks,
        "trending": trending,
        "cut": _no_cut,
        "subject": subject,
        "preheader": preheader,
        "period": period.headline,
        "when": period.when,
        "recipient": subscriber.email,
        "manage_url": links.manage,
        "unsubscribe_url": links.unsubscribe,
    }
    html = wire_text(inline(env.get_template(HTML_PAGE).render(context)))
    text = wire_text(env.get_template(TEXT_PAGE).render(context))
    return RenderedEmail(subject=subject, preheader=preheader, html=html, text=text)


def wire_text(text: str) -> str:
    """Text as a MIME part carries it: CRLF line ends and a final line break.

    Done once per issue on the whole sheet, so every email joined from it is already in this form,
    and the preview prints the very bytes the delivered part holds.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "\r\n".join(lines) + "\r\n"
