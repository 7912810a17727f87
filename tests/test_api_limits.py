"""The admin JSON API's limits: the token is checked and the body capped before the body is read; errors
never echo their input; the schema declares what the API answers.

Streamed bodies are sent to the real app's ASGI interface, as a server hands them over, by a client
that counts how many bytes the app pulled: the test client would read a whole streamed body first.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from email.mime.text import MIMEText
from typing import Any

import pytest

from newsletter.subscribers import preferences
from tests.conftest import HF_API, CliRunnerFn
from tests.test_bounces import dsn
from tests.web_support import ADMIN_TOKEN, NOW, WebWorld, make_world

BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CHUNK = 64 * 1024
HUGE = 500_000_000  # what the client would send, were it let


class Upload:
    """A chunked request body of `total` bytes (`{"date": "x...`), sent as the app asks for it."""

    def __init__(self, total: int = HUGE) -> None:
        self.total = total
        self.pulled = 0

    async def receive(self) -> dict[str, Any]:
        if self.pulled >= self.total:
            await asyncio.sleep(3600)  # the client waits for the answer
        chunk = (b'{"date": "' if self.pulled == 0 else b"") + b"x" * CHUNK
        chunk = chunk[: self.total - self.pulled]
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": self.pulled < self.total}


def send_upload(
    world: WebWorld, path: str, upload: Upload, headers: dict[str, str], ip: str = "203.0.113.7"
) -> tuple[int, dict[str, str], Any]:
    """POST `upload` to the app at `path`, without a Content-Length unless `headers` gives one."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (ip, 50000),
        "server": ("papers.example.org", 443),
    }
    asyncio.run(asyncio.wait_for(world.client.app(scope, upload.receive, send), 60))
    start = sent[0]
    answer = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], answer, json.loads(body)


JSON = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}


def test_a_huge_body_without_the_token_is_refused_before_a_byte_of_it_is_read(world: WebWorld) -> None:
    for headers in (JSON, {**JSON, "Authorization": "Bearer wrong-token"}):
        upload = Upload()
        status, answer, body = send_upload(world, "/api/skip", upload, headers)
        assert (status, body) == (401, {"detail": "a valid bearer token is required"})
        assert answer["www-authenticate"] == "Bearer"
        assert upload.pulled == 0


def test_wrong_tokens_lock_an_address_out_before_its_bodies_are_read(db_url: str, smtp: Any) -> None:
    world = make_world(db_url, smtp[1].port, NEWSLETTER_WEB_LOGIN_LIMIT_IP="2/minute")
    uploads = [Upload() for _ in range(4)]
    wrong = {**JSON, "Authorization": "Bearer guess"}
    statuses = [send_upload(world, "/api/skip", u, wrong)[0] for u in uploads[:3]]
    assert statuses == [401, 401, 429]
    # Locked out: the right token from this address is refused too; another address is not.
    status, _, body = send_upload(world, "/api/skip", uploads[3], {**JSON, **BEARER})
    assert status == 429 and "too many wrong tokens" in body["detail"]
    assert [u.pulled for u in uploads] == [0, 0, 0, 0]
    other = world.client.get("/api/subscribers/counts", headers=BEARER)
    assert other.status_code == 200
    world.store.dispose()


@pytest.mark.parametrize(("path", "cap"), [("/api/skip", 64 * 1024), ("/api/bounces", 5_000_000)])
def test_a_streamed_body_is_cut_off_at_the_cap(world: WebWorld, path: str, cap: int) -> None:
    upload = Upload()
    status, _, body = send_upload(world, path, upload, {**JSON, **BEARER})
    assert (status, body) == (413, {"detail": f"the request body is over {cap} bytes"})
    assert cap < upload.pulled <= cap + CHUNK + 10  # the chunk that passed the cap, and no more


def test_a_content_length_over_the_cap_is_refused_before_the_body_is_read(world: WebWorld) -> None:
    upload = Upload(HUGE)
    headers = {"Content-Type": "application/json", "Content-Length": str(HUGE), **BEARER}
    status, _, body = send_upload(world, "/api/skip", upload, headers)
    assert (status, body) == (413, {"detail": "the request body is over 65536 bytes"})
    assert upload.pulled == 0
    refused = world.client.post("/api/skip", content=b" " * (64 * 1024 + 1), headers={**JSON, **BEARER})
    assert refused.status_code == 413


def test_an_mbox_over_64_kb_is_still_taken(world: WebWorld) -> None:
    # A bounce that quotes the whole original digest: far over the other routes' 64 KB cap.
    world.store.subscribers.add(
        "gone@example.org", preferences(["speech"], timezone="UTC", hour=7), "active", NOW
    )
    report = dsn("gone@example.org", "failed", "5.1.1", "550 5.1.1 User unknown")
    report.attach(MIMEText("The digest, quoted. " * 50_000))
    raw = report.as_bytes()
    assert len(raw) > 900_000
    answer = world.client.post(
        "/api/bounces", content=raw, headers={"Content-Type": "message/rfc822", **BEARER}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["suppressed"] == ["gone@example.org"]


def test_a_validation_error_names_the_field_but_does_not_echo_the_input(world: WebWorld) -> None:
    hostile = "A" * 60_000  # under the 64 KB cap
    answer = world.client.post("/api/skip", json={"date": "today", "arxiv_id": hostile}, headers=BEARER)
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [
            {
                "loc": ["body", "arxiv_id"],
                "msg": "String should have at most 40 characters",
                "type": "string_too_long",
            }
        ]
    }
    assert len(answer.content) < 500 and "AAAA" not in answer.text
    # A query parameter too, and a body that is not JSON at all.
    query = world.client.get("/api/issues", params={"limit": "B" * 5_000}, headers=BEARER)
    assert query.status_code == 422 and "BBBB" not in query.text
    assert query.json()["detail"][0]["loc"] == ["query", "limit"]
    broken = world.client.post("/api/skip", content=b'{"date": "CCCC', headers={**BEARER, **JSON})
    assert broken.status_code == 422 and "CCCC" not in broken.text
    # The reader pages are not the API: their answers are unchanged.
    assert world.client.get("/api/topic-preview", params={"topics": "speech"}).status_code == 200


def test_an_email_of_only_spaces_counts_as_not_given(world: WebWorld, run_cli: CliRunnerFn) -> None:
    march = HF_API / "daily_papers_2025-03-11.json"
    assert run_cli("fetch", "--file", str(march), "--date", "2025-03-11").exit_code == 0
    asked = {"topics": "LLM reasoning", "date": "2025-03-11"}
    spaces = world.client.get("/api/preview", params={**asked, "email": "  \t "}, headers=BEARER)
    assert spaces.status_code == 200, spaces.text
    assert spaces.json() == world.client.get("/api/preview", params=asked, headers=BEARER).json()
    assert spaces.json()["kind"] == "digest" and spaces.json()["picks"]
    nothing = world.client.get("/api/preview", params={"email": "   "}, headers=BEARER)
    assert nothing.status_code == 422
    assert nothing.json() == {"detail": "email: give a subscriber's email or some topics"}


def operations(world: WebWorld) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in world.client.get("/api/openapi.json").json()["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_declares_the_errors_it_may_answer(world: WebWorld) -> None:
    schema = world.client.get("/api/openapi.json").json()
    assert {"ErrorOut", "InvalidOut"} <= set(schema["components"]["schemas"])
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for label, operation in operations(world):
        responses = operation["responses"]
        assert {"400", "401", "413", "422", "429"} <= set(responses), label
        assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True, label
        invalid = responses["422"]["content"]["application/json"]["schema"]
        assert invalid == {"$ref": "#/components/schemas/InvalidOut"}, label
    invalid = schema["components"]["schemas"]["InvalidOut"]["properties"]["detail"]["anyOf"]
    assert invalid[0] == {"type": "string"} and invalid[1]["type"] == "array"
