"""Papers to and from JSON, for frozen issue snapshots."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from newsletter.models import Paper

_DATETIMES = ("published_at", "submitted_at")
_TUPLES = ("authors", "ai_keywords")


def paper_to_json(paper: Paper) -> dict[str, Any]:
    """A Paper as a JSON-ready dict."""
    data: dict[str, Any] = {f.name: getattr(paper, f.name) for f in fields(paper)}
    for name in _DATETIMES:
        if data[name] is not None:
            data[name] = data[name].isoformat()
    for name in _TUPLES:
        data[name] = list(data[name])
    return data


def paper_from_json(data: dict[str, Any]) -> Paper:
    """The inverse of paper_to_json."""
    values = dict(data)
    for name in _DATETIMES:
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    for name in _TUPLES:
        values[name] = tuple(values.get(name) or ())
    return Paper(**values)
