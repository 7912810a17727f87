"""The reader forms under fuzz, through the real app on a real SQLite store and a real SMTP server.

The subscribe and manage forms get arbitrary fields (Unicode, control characters, huge values,
missing and extra fields, out-of-range and non-numeric numbers), and arbitrary bodies and CSRF
tokens. Every answer is a 200 or a clear 4xx, never a 5xx; a 422 stores nothing and sends nothing;
a value holding markup is never reflected verbatim. Tokens in paths and the previews are in
test_fuzz_paths.py.

The CI profile keeps this bounded; for the long fuzz:

    .venv/bin/pytest tests/faults/web --hypothesis-profile=long
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from newsletter.models import Subscriber
from newsletter.subscribers import normalize_email
from tests.faults.fuzz_input_support import assert_valid_preferences
from tests.faults.hypothesis_profiles import NO_SHRINK, budget
from tests.faults.web.fuzz_support import (
    HEALTH,
    MARKERS,
    _checked,
    _client,
    _fresh_ip,
    _prefs,
    _values,
    forms,
    good_fields,
    texts,
)
from tests.smtp_server import ScriptedHandler
from tests.web_support import WebWorld

pytestmark = pytest.mark.slow


# --- subscribe ----------------------------------------------------------------------------------


@example(form={"email": "ada@example.org", "topics": MARKERS[0], "hour": "7"})
@example(form={"email": MARKERS[1], "topics": "speech"})
@example(form={"email": "ada@example.org", "topics": "x" * 20_001})
@example(form={"email": "ada@example.org", "topics": "speech", "hour": "9" * 5000})
@example(form={})
@given(forms())
@budget(1.5, suppress_health_check=HEALTH)
def test_subscribe_answers_200_or_422_and_never_stores_half_way(
    world: WebWorld, smtp: tuple[ScriptedHandler, int], csrf: str, form: dict[str, Any]
) -> None:
    handler = smtp[0]
    before, mails = world.store.subscribers.listed(), len(handler.received)
    response = _checked(world.client.post("/subscribe", data={**form, "csrftoken": csrf}), _values(form))
    after = world.store.subscribers.listed()
    event(f"subscribe {response.status_code}")
    if response.status_code == 422:
        assert after == before, "a refused sign-up changed the subscribers table"
        assert len(handler.received) == mails, "a refused sign-up sent mail"
        return
    assert response.status_code == 200 and "Check your inbox" in response.text
    sub = world.store.subscribers.by_email(normalize_email(form["email"]))
    assert sub is not None and sub.status in ("pending", "active")
    assert_valid_preferences(_prefs(sub))
    assert [s for s in after if s.id != sub.id] == [s for s in before if s.id != sub.id]
    assert len(handler.received) == mails + 1, "one confirmation (or already-subscribed) mail"


@pytest.mark.parametrize("with_token", [True, False])
@given(
    body=st.one_of(st.binary(max_size=400), texts.map(lambda t: t.encode("utf-8"))),
    content_type=st.sampled_from([
        "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
        "text/plain", "application/json", "", "application/octet-stream",
    ]),
)  # fmt: skip
@budget(1.0, suppress_health_check=HEALTH)
def test_raw_subscribe_bodies_answer_4xx_or_200(
    world: WebWorld, csrf: str, with_token: bool, body: bytes, content_type: str
) -> None:
    # multipart/form-data and form bodies that are not UTF-8 have tests of their own below.
    assume("urlencoded" not in content_type or _is_utf8(body))
    if with_token and "urlencoded" in content_type:
        body += b"&csrftoken=" + csrf.encode()
    before = world.store.subscribers.listed()
    response = _checked(world.client.post("/subscribe", content=body, headers={"content-type": content_type}))
    if response.status_code != 200:
        assert world.store.subscribers.listed() == before


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Regression (found by this fuzzing, now fixed): the asgi-csrf 0.11 middleware that
# newsletter/web/__init__.py (line 48) wraps around the app answers 500 to requests anyone can send: a
# non-ASCII csrftoken form field or x-csrftoken header (secrets.compare_digest refuses non-ASCII str:
# TypeError at asgi_csrf.py lines 148 and 177; the header check runs before skip_if_scope, so it hits
# every POST, /unsubscribe/ and /api/ included), any multipart/form-data body (asgi_csrf.py line 296
# passes FileClass= to python-multipart 0.0.34's FormParser, which no longer takes it: TypeError) and a
# multipart content type without a boundary (IndexError, asgi_csrf.py line 189), and a form-urlencoded
# body that is not UTF-8 (UnicodeDecodeError, asgi_csrf.py line 250)


@example(where="form", value="é", path="/subscribe")
@given(
    where=st.sampled_from(["form", "header"]),
    value=st.text(min_size=1, max_size=40).filter(lambda v: not v.isascii() and v.isprintable()),
    path=st.sampled_from(
        ["/subscribe", "/manage/x", "/confirm/x", "/admin/login", "/unsubscribe/x", "/api/skip"]
    ),
)
@budget(0.2, suppress_health_check=HEALTH, phases=NO_SHRINK)
def test_a_non_ascii_csrf_token_is_refused_with_a_4xx(
    world: WebWorld, where: str, value: str, path: str
) -> None:
    if where == "form":
        response = world.client.post(path, data={"csrftoken": value, "email": "x@example.org"})
    else:
        response = world.client.post(path, headers={"x-csrftoken": value.encode("utf-8")})
    _checked(response)


@example(body=b"\x80")
@given(body=st.binary(min_size=1, max_size=64).filter(lambda b: not _is_utf8(b)))
@budget(0.1, suppress_health_check=HEALTH, phases=NO_SHRINK)
def test_a_form_body_that_is_not_utf8_is_refused_with_a_4xx(world: WebWorld, csrf: str, body: bytes) -> None:
    content_type = "application/x-www-form-urlencoded"
    response = world.client.post("/subscribe", content=body + b"&csrftoken=" + csrf.encode(),
                                 headers={"content-type": content_type})  # fmt: skip
    _checked(response)


@example(with_token=True, boundary=True)
@given(with_token=st.booleans(), boundary=st.booleans())
@budget(0.1, suppress_health_check=HEALTH, phases=NO_SHRINK)
def test_a_multipart_form_is_read_or_refused_with_a_4xx(
    world: WebWorld, csrf: str, with_token: bool, boundary: bool
) -> None:
    data = {"email": "multi@example.org", "topics": "speech", **({"csrftoken": csrf} if with_token else {})}
    if boundary:
        response = world.client.post("/subscribe", data=data, files={"note": ("a.txt", b"x")})
    else:
        response = world.client.post(
            "/subscribe", content=b"x", headers={"content-type": "multipart/form-data"}
        )
    _checked(response)


def test_a_form_without_its_csrf_token_is_refused(world: WebWorld) -> None:
    before = world.store.subscribers.listed()
    response = _client(world, _fresh_ip()).post(
        "/subscribe", data={"email": "x@example.org", "topics": "speech"}
    )
    assert response.status_code == 403
    assert world.store.subscribers.listed() == before


# --- manage -------------------------------------------------------------------------------------


@example(form={"topics": MARKERS[4], "hour": "25"})
@example(form={"topics": "speech", "per_email": "31"})
@example(form={})
@given(forms(fields=tuple(f for f in good_fields if f != "email")))
@budget(1.5, suppress_health_check=HEALTH)
def test_manage_saves_valid_preferences_or_answers_422_and_changes_nothing(
    world: WebWorld, csrf: str, reader: Subscriber, form: dict[str, Any]
) -> None:
    token = world.svc.signer().mint("manage", reader)
    before = world.store.subscribers.get(reader.id)
    others = [s for s in world.store.subscribers.listed() if s.id != reader.id]
    response = _checked(
        world.client.post(f"/manage/{token}", data={**form, "csrftoken": csrf}, follow_redirects=False),
        _values(form),
    )
    after = world.store.subscribers.get(reader.id)
    assert after is not None and before is not None
    event(f"manage {response.status_code}")
    if response.status_code == 422:
        assert after == before, "a refused change was stored"
    else:
        # Saved: redirected to the page that says so, which shows the stored values escaped.
        assert response.status_code == 303 and response.headers["location"] == f"/manage/{token}?saved=1"
        assert "Saved." in _checked(world.client.get(response.headers["location"]), _values(form)).text
        assert_valid_preferences(_prefs(after))
        assert (after.email, after.status) == (before.email, before.status)
    assert [s for s in world.store.subscribers.listed() if s.id != reader.id] == others
