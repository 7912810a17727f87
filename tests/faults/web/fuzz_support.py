"""Shared by the web fuzz tests: the strategies for form fields, and the check every answer must pass."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from hypothesis import HealthCheck
from hypothesis import strategies as st
from starlette.testclient import TestClient

from newsletter.models import Subscriber
from newsletter.subscribers import Preferences
from tests.conftest import HF_API
from tests.faults.fuzz_input_support import EMOJI, RTL, ZERO_WIDTH
from tests.web_support import WebWorld

GENEROUS = {
    "NEWSLETTER_WEB_SUBSCRIBE_LIMIT_IP": "100000/hour",
    "NEWSLETTER_WEB_SUBSCRIBE_LIMIT_ADDRESS": "100000/hour",
    "NEWSLETTER_WEB_LOGIN_LIMIT_IP": "100000/hour",
}
MARCH = HF_API / "daily_papers_2025-03-11.json"
# Markup a form value might smuggle in. None of these may come back verbatim in a response body.
MARKERS = [
    '<script data-fuzz="1">alert(1)</script>',
    '"><img src=x onerror=fuzz()>',
    "<fuzz-tag>",
    "'\"><svg/onload=fuzz()>",
    "</textarea><fuzz-tag data-x=1>",
    '" autofocus onfocus="fuzz()',
]
# What the checks look for in each response: the markers, and a run of tags (the huge "<b>" values).
PROBES = [*MARKERS, "<b><b>"]
CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029"]
HEALTH = [HealthCheck.too_slow]

fragments = st.one_of(
    st.sampled_from(MARKERS),
    st.sampled_from(["LLM reasoning", "speech", "-survey", "--x", "-", "diffusion\nrobotics", "a\r\nb"]),
    st.sampled_from(RTL + EMOJI + ZERO_WIDTH + CONTROLS),
    st.text(max_size=10),
)
texts = st.one_of(
    st.lists(fragments, max_size=5).map("".join),
    st.builds(
        lambda unit, n: unit * n,
        st.sampled_from(["x", "é", "😀", "\n", "<b>"]),
        st.sampled_from([201, 19_990, 20_001]),
    ),
)
numbers = st.one_of(
    st.integers(-3, 40).map(str),
    st.integers().map(str),
    st.sampled_from(
        ["", " 7 ", "7.0", "seven", "٣", "²", "0x10", "1e3", "+5", "-0", "9" * 5000, "NaN", "\x00"]
    ),
)
good_fields = {
    "email": st.sampled_from(["ada@example.org", "Bo@Example.COM", "hans@münchen.de", "taro@例え.jp"])
    | st.emails(),
    "topics": st.lists(
        st.sampled_from(["LLM reasoning", "speech", "-survey", "diffusion", *RTL, *EMOJI]), min_size=1
    ).map("\n".join),
    "hour": st.integers(0, 23).map(str),
    "timezone": st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata", "Asia/Calcutta", ""]),
    "cadence": st.sampled_from(["daily", "weekly"]),
    "weekday": st.integers(0, 6).map(str),
    "per_email": st.integers(1, 30).map(str),
}
bad_fields = {
    "email": texts
    | st.sampled_from(['"john doe"@example.org', "a" * 65 + "@example.org", "a@b.org\r\nBcc: c@d.org"]),
    "topics": texts,
    "hour": numbers,
    "timezone": texts | st.sampled_from(["Mars/Olympus", "utc", "../../etc/passwd"]),
    "cadence": texts,
    "weekday": numbers | texts,
    "per_email": numbers,
}


@st.composite
def forms(draw: st.DrawFn, fields: tuple[str, ...] = tuple(good_fields)) -> dict[str, Any]:
    """A posted form: each field valid, adversarial or missing, plus extra fields now and then."""
    form: dict[str, Any] = {}
    for name in fields:
        kind = draw(st.sampled_from(["good", "good", "bad", "missing"]))
        if kind != "missing":
            form[name] = draw((good_fields if kind == "good" else bad_fields)[name])
    form.update(draw(st.dictionaries(st.text(min_size=1, max_size=12), texts, max_size=2)))
    if draw(st.integers(0, 9)) == 0 and "topics" in form:
        form["topics"] = [form["topics"], draw(texts)]  # a repeated field
    return form


def _checked(response: httpx.Response, sent: Any = ()) -> httpx.Response:
    """A 200 or a clear 4xx, and none of the markup in `sent` reflected verbatim."""
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    allowed = (200, 303, 400, 401, 403, 404, 405, 410, 413, 415, 422, 429)
    assert response.status_code in allowed, response.status_code
    body = response.text
    values = [sent] if isinstance(sent, str) else list(sent)
    for value in values:
        for probe in PROBES:
            if probe in str(value):
                assert probe not in body, f"{probe!r} reflected unescaped"
    return response


def _values(form: dict[str, Any]) -> list[str]:
    return [str(v) for value in form.values() for v in (value if isinstance(value, list) else [value])]


def _prefs(sub: Subscriber) -> Preferences:
    return Preferences(
        sub.topics, sub.excludes, sub.timezone, sub.hour, sub.cadence, sub.weekday, sub.per_email
    )


def _client(world: WebWorld, ip: str) -> TestClient:
    """Another browser on the same app, from its own address (the rate limits count per address)."""
    return TestClient(world.client.app, base_url="https://papers.example.org", client=(ip, 40000))


_addresses = itertools.count(1)


def _fresh_ip() -> str:
    n = next(_addresses)
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
