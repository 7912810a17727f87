"""Cutting a rendered issue sheet into named pieces with holes for per-subscriber values."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup

FIRST_PIECE = "top"
_NAME = r"[\w.:-]+"


def _checked(name: str) -> str:
    # A name the split pattern cannot read back would silently merge two pieces.
    if not re.fullmatch(_NAME, name):
        raise ValueError(f"issue sheet: bad marker name {name!r}")
    return name


@dataclass(frozen=True, slots=True)
class Piece:
    """Finished markup with holes: fragments[0], the value of slots[0], fragments[1], and so on."""

    fragments: tuple[str, ...]
    slots: tuple[str, ...]

    def fill(self, values: Mapping[str, str]) -> str:
        """The piece with each slot replaced by its (already escaped) value."""
        if not self.slots:
            return self.fragments[0]
        out = [self.fragments[0]]
        for name, fragment in zip(self.slots, self.fragments[1:], strict=True):
            out.append(values[name])
            out.append(fragment)
        return "".join(out)


class Marks:
    """The cut and slot markers of one issue sheet, and the splitting of the sheet at them.

    A cut (an HTML comment, which premailer keeps) starts a new named piece; a slot (a bare token, so it
    also works inside attributes and <title>) is a hole in the current piece. Markers carry a random
    nonce, so scraped text (which the text part does not escape) cannot forge one; the nonce never
    reaches an email, so output stays byte-identical from run to run.
    """

    def __init__(self, nonce: str | None = None) -> None:
        self.nonce = nonce or secrets.token_hex(8)
        self._pattern = re.compile(
            rf"<!--@@{self.nonce}:cut:(?P<cut>{_NAME})@@-->|@@{self.nonce}:slot:(?P<slot>{_NAME})@@"
        )

    def cut(self, name: str) -> Markup:
        """The marker that starts piece `name`."""
        return Markup("<!--@@{}:cut:{}@@-->").format(self.nonce, _checked(name))

    def slot(self, name: str) -> Markup:
        """The marker of a hole named `name`."""
        return Markup("@@{}:slot:{}@@").format(self.nonce, _checked(name))

    def split(self, sheet: str) -> dict[str, Piece]:
        """The sheet's pieces by name; the text before the first cut is the piece "top"."""
        pieces: dict[str, Piece] = {}
        name = FIRST_PIECE
        fragments: list[str] = []
        slots: list[str] = []
        start = 0

        def close() -> None:
            if name in pieces:
                raise ValueError(f"issue sheet: piece {name!r} is cut twice")
            pieces[name] = Piece(tuple(fragments), tuple(slots))

        for match in self._pattern.finditer(sheet):
            fragments.append(sheet[start : match.start()])
            start = match.end()
            if match["cut"] is not None:
                close()
                name, fragments, slots = match["cut"], [], []
            else:
                slots.append(match["slot"])
        fragments.append(sheet[start:])
        close()
        if any(self.nonce in fragment for piece in pieces.values() for fragment in piece.fragments):
            # The inliner rewrote a marker (say, inside an attribute), so a value would go missing.
            raise ValueError("issue sheet: a marker was altered by the inliner and could not be split")
        return pieces
