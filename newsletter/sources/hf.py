"""Hugging Face papers: the trending page, a day's page, and the daily_papers API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import httpx

from newsletter.sources.redirects import RefusedRedirect

TRENDING = "hf-trending"
DAILY = "hf-daily"
API = "hf-api"


class SourceUnreachable(Exception):
    """Not fetched: network down, timeouts, 5xx after retries, a login wall or a refused redirect."""


@dataclass(frozen=True, slots=True)
class Request:
    """One GET to make: the URL and its query parameters."""

    url: str
    params: dict[str, str | int]


def request_for(
    name: str, base_url: str, day: date | None, *, sort: str = "trending", limit: int = 100, page: int = 0
) -> Request:
    """The request that fetches `name` for `day` (page `page` of the API)."""
    base = base_url.rstrip("/")
    if name == TRENDING:
        return Request(f"{base}/papers/trending", {})
    if name == DAILY:
        if day is None:
            raise ValueError("hf-daily needs a date")
        return Request(f"{base}/papers/date/{day.isoformat()}", {})
    if name == API:
        params: dict[str, str | int] = {"limit": limit, "sort": sort, "p": page}
        if day is not None:
            params["date"] = day.isoformat()
        return Request(f"{base}/api/daily_papers", params)
    raise ValueError(f"unknown source {name!r}")


def fetch_text(client: httpx.Client, request: Request) -> str:
    """GET one document; retries and backoff live in the client's transport."""
    try:
        response = client.get(request.url, params=request.params)
    except RefusedRedirect as exc:
        # Its message names both ends of the hop and why: "refused redirect from A to B (leaves https)".
        raise SourceUnreachable(str(exc)) from None
    except httpx.TimeoutException:
        raise SourceUnreachable(f"{request.url}: timed out") from None
    except httpx.HTTPError as exc:
        raise SourceUnreachable(f"{request.url}: {type(exc).__name__}: {exc}") from None
    if "login" in response.url.path.lower().split("/"):
        raise SourceUnreachable(f"{request.url}: redirected to a login page ({response.url})")
    if response.status_code >= 400:
        raise SourceUnreachable(
            f"{request.url}: HTTP {response.status_code} {response.reason_phrase}".rstrip()
        )
    return response.text
