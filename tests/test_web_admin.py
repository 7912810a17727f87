"""Admin pages and the JSON API over HTTP: bad dates, skipping from a sent issue, uploads, the docs."""

from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from newsletter import app
from newsletter.subscribers import preferences
from newsletter.web import create_app
from tests.conftest import HF_API
from tests.scripted_http import ScriptedHttp, ok, status
from tests.smtp_server import free_port
from tests.web_support import ADMIN_TOKEN, NOW, make_world, web_settings

MARCH = HF_API / "daily_papers_2025-03-11.json"
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def world(db_url, smtp):
    # /api/fetch must not reach the internet: the source is a closed local port, tried once.
    w = make_world(
        db_url,
        smtp[1].port,
        NEWSLETTER_SOURCES_BASE_URL=f"http://127.0.0.1:{free_port()}",
        NEWSLETTER_SOURCES_RETRIES="0",
        NEWSLETTER_SOURCES_TIMEOUT_S="2",
    )
    yield w
    w.client.close()
    w.store.dispose()


def test_the_issue_page_says_a_non_date_is_not_a_date_and_a_missing_issue_is_404(world):
    world.login()
    for garbage in ("garbage", "2025-13-40", "20250311", "2025-W11-2"):
        page = world.client.get(f"/admin/issue/{garbage}")
        assert page.status_code == 422
        assert "is not a date like 2025-05-30" in page.text and "has started" not in page.text
    # The same status the preview gives a bad date; its heading names no issue of that date.
    assert world.client.get("/admin/preview", params={"date": "garbage"}).status_code == 422
    far = world.client.get("/admin/preview", params={"date": "2099-01-01", "topics": "speech"})
    assert far.status_code == 422 and "more than ten years away" in far.text
    assert "<h1>Preview of an issue</h1>" in far.text and "issue of 2099-01-01" not in far.text
    assert 'value="2099-01-01"' in far.text  # left in its field, to correct
    # A refused reader on a good date keeps the date's heading.
    nobody = world.client.get("/admin/preview", params={"date": "2025-03-11", "email": "nobody@example.org"})
    assert nobody.status_code == 422 and "<h1>Preview of the issue of 2025-03-11</h1>" in nobody.text
    missing = world.client.get("/admin/issue/2025-03-12")
    assert missing.status_code == 404 and "No issue of 2025-03-12 has started" in missing.text
    # Every other date field takes "today" and "tomorrow": this address does too.
    tomorrow = world.client.get("/admin/issue/tomorrow")
    assert (
        tomorrow.status_code == 404
        and f"No issue of {NOW.date() + timedelta(days=1)} has started" in tomorrow.text
    )


def test_a_skip_while_an_issue_is_sent_keeps_the_paper_from_the_readers_not_queued_yet(world, run_cli):
    # East of the world has its email; the west's morning has not come. A paper the admin skips now
    # stays in the emails already sent, and reaches none of those still to come.
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    prefs = preferences(["LLM reasoning"], timezone="UTC", hour=7)
    world.store.subscribers.add("p@example.org", prefs, "active", NOW)
    # p's email is queued (the issue frozen), not sent yet: it must still go out whole after a skip.
    assert run_cli("send", "--date", "2025-03-11", "--queue-only").exit_code == 0
    world.store.subscribers.add("q@example.org", prefs, "active", NOW)  # not queued yet
    world.login()
    query = {"email": "p@example.org", "date": "2025-03-11"}
    sent = world.client.get("/admin/preview", params=query)
    assert sent.status_code == 200 and "Skip from issue" in sent.text
    assert "emails already queued or sent keep their papers" in sent.text
    picks = re.findall(r'class="pick-title">([^<]+)<', sent.text)
    arxiv_id = re.search(r'name="arxiv_id" value="([^"]+)"', sent.text).group(1)
    skip_form = sent.text.split('action="/admin/skip"')[1].split("</form>")[0]
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', skip_form))
    assert re.findall(r'class="pick-title">([^<]+)<', world.client.get("/admin/preview", params={
        **query, "email": "q@example.org"}).text) == picks  # fmt: skip

    response = world.client.post("/admin/skip", data=form, follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    params = parse_qs(location.query)
    assert location.path == "/admin/preview"
    assert params["email"] == ["p@example.org"] and params["date"] == ["2025-03-11"]
    assert "notice" not in params  # kept in the session, not the address
    shown = world.client.get(response.headers["location"])
    said = f"{arxiv_id} will not be in the issue of 2025-03-11. Emails already queued or sent keep it."
    assert said in shown.text
    # Said once: a reload shows the preview without it.
    assert "will not be in the issue" not in world.client.get(response.headers["location"]).text
    # p's email, queued before, goes out with it; q's, queued now, without it, and the rest move up.
    assert re.findall(r'class="pick-title">([^<]+)<', shown.text) == picks
    later = world.client.get("/admin/preview", params={**query, "email": "q@example.org"})
    assert re.findall(r'class="pick-title">([^<]+)<', later.text)[: len(picks) - 1] == picks[1:]
    assert "2 sent" in run_cli("send", "--date", "2025-03-11").stdout
    q = world.store.subscribers.by_email("q@example.org")
    issue = world.store.issues.find_issue(date(2025, 3, 11))
    (row,) = world.store.ledger.deliveries_of(issue, q.id)
    assert arxiv_id not in [p["arxiv_id"] for p in row.picks]
    p = world.store.subscribers.by_email("p@example.org")
    (row,) = world.store.ledger.deliveries_of(issue, p.id)
    assert row.picks[0]["arxiv_id"] == arxiv_id


def test_the_api_docs_page_is_off_and_the_schema_is_served(world):
    assert world.client.get("/api/docs").status_code == 404
    assert world.client.get("/api/docs/oauth2-redirect").status_code == 404
    schema = world.client.get("/api/openapi.json")
    assert schema.status_code == 200 and "/api/preview" in schema.json()["paths"]


@pytest.mark.parametrize("body", [os.urandom(300), b'{"a": 1, "b": [2]}', b'{\n  "email": "x"\n}', b"hello"])
def test_an_upload_that_is_not_an_email_is_refused_like_the_cli_does(world, body):
    response = world.client.post(
        "/api/bounces", content=body, headers={**BEARER, "Content-Type": "message/rfc822"}
    )
    assert response.status_code == 422
    assert "neither an mbox file nor an email message" in response.json()["detail"]


def test_the_cli_refuses_a_json_file_as_the_api_does(run_cli, tmp_path):
    upload = tmp_path / "bounce.json"
    upload.write_bytes(b'{"a": 1, "b": [2]}')
    refused = run_cli("bounces", "import", str(upload))
    assert refused.exit_code == 2 and "neither an mbox file nor an email message" in refused.stderr


def test_the_preview_mailed_to_the_admin_carries_none_of_the_readers_links(world, smtp, run_cli):
    handler, _ = smtp
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    prefs = preferences(["LLM reasoning"], timezone="UTC", hour=7)
    world.store.subscribers.add("p@example.org", prefs, "active", NOW)
    world.login()
    token = world.csrf("/admin/preview")
    form = {"email": "p@example.org", "topics": "", "date": "2025-03-11", "csrftoken": token}
    sent = world.client.post("/admin/preview/send", data=form, follow_redirects=True)
    assert sent.status_code == 200 and "Sent the preview to admin@example.org." in sent.text
    (mail,) = handler.by_recipient()["admin@example.org"]
    message = mail.parsed()
    assert message["Subject"].startswith("[preview] Your papers for Tue 11 Mar")
    back = "https://papers.example.org/admin/preview?email=p%40example.org&amp;topics=&amp;date=2025-03-11"
    for part, link in (("html", back), ("plain", back.replace("&amp;", "&"))):
        body = message.get_body((part,)).get_content()
        assert "/manage/" not in body and "/unsubscribe/" not in body
        assert link in body and "MM-Eureka" in body


def test_the_api_schema_declares_bearer_auth_so_openapi_tools_can_send_the_token(world):
    schema = world.client.get("/api/openapi.json").json()
    (scheme,) = schema["components"]["securitySchemes"].values()
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    declared = [{name: []} for name in schema["components"]["securitySchemes"]]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == declared, (method, path)
            assert "authorization" not in [p["name"].lower() for p in operation.get("parameters", [])]
    refused = world.client.get("/api/issues")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert world.client.get("/api/issues", headers=BEARER).status_code == 200


def _hidden_fields(html: str, form_marker: str) -> dict[str, str]:
    form = html.split(form_marker)[1].split("</form>")[0]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_a_skipped_paper_is_listed_and_can_be_put_back_leaving_the_picks_as_before(world, run_cli):
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    prefs = preferences(["LLM reasoning", "video generation"], timezone="UTC", hour=7)
    world.store.subscribers.add("p@example.org", prefs, "active", NOW)
    world.login()
    query = {"email": "p@example.org", "date": "2025-03-11"}
    before = world.client.get("/admin/preview", params=query).text
    picks = re.findall(r'class="pick-title">([^<]+)<', before)
    assert len(picks) >= 3 and 'id="skipped"' not in before
    skipped = world.client.post("/admin/skip", data=_hidden_fields(before, 'action="/admin/skip"'))
    assert "will not be in the issue of 2025-03-11" in skipped.text
    # The rest move up; a paper below the cap may join at the end.
    after = re.findall(r'class="pick-title">([^<]+)<', skipped.text)
    assert after[: len(picks) - 1] == picks[1:] and picks[0] not in after
    listed = skipped.text.split('id="skipped"')[1].split("</section>")[0]
    assert picks[0] in listed and "Put back" in listed
    put_back = world.client.post("/admin/skip", data=_hidden_fields(listed, 'action="/admin/skip"'))
    assert "is back in the issue of 2025-03-11" in put_back.text and 'id="skipped"' not in put_back.text
    assert re.findall(r'class="pick-title">([^<]+)<', put_back.text) == picks
    # The API does the same; putting back a paper that is not skipped says so.
    arxiv_id = _hidden_fields(before, 'action="/admin/skip"')["arxiv_id"]
    undo = {"date": "2025-03-11", "arxiv_id": arxiv_id, "undo": True}
    answer = world.client.post("/api/skip", json=undo, headers=BEARER)
    assert answer.status_code == 404
    assert answer.json()["message"] == f"{arxiv_id} was not skipped from the issue of 2025-03-11."


def test_api_skip_answers_200_only_when_the_paper_was_skipped(world, run_cli):
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    arxiv_id = json.loads(MARCH.read_text(encoding="utf-8"))[0]["paper"]["id"]

    def skip(day: str, paper: str = arxiv_id, undo: bool = False) -> tuple[int, str]:
        answer = world.client.post(
            "/api/skip", json={"date": day, "arxiv_id": paper, "undo": undo}, headers=BEARER
        )
        return answer.status_code, answer.json()["message"]

    assert skip("tomorrow", "9999.99999") == (404, "No paper 9999.99999 in the store.")
    # In the store, but listed weeks before this issue's window: it could not be in it.
    status, message = skip("2025-04-30")
    assert status == 404 and f"{arxiv_id} is not in the issue of 2025-04-30" in message
    assert world.store.issues.skipped_papers(date(2025, 4, 30)) == set()
    # The admin form says the same, and skips nothing either.
    world.login()
    form = {"date": "2025-04-30", "arxiv_id": arxiv_id, "email": "", "topics": "speech"}
    page = world.client.post("/admin/skip", data={**form, "csrftoken": world.csrf("/admin/preview")})
    assert page.status_code == 200 and f"{arxiv_id} is not in the issue of 2025-04-30" in page.text
    assert world.store.issues.skipped_papers(date(2025, 4, 30)) == set()
    assert skip("2025-03-11") == (200, f"{arxiv_id} will not be in the issue of 2025-03-11.")
    assert skip("2025-03-11", undo=True) == (200, f"{arxiv_id} is back in the issue of 2025-03-11.")
    # Once the issue is sending, a skip still keeps the paper from the emails not queued yet.
    world.store.subscribers.add(
        "p@example.org", preferences(["speech"], timezone="UTC", hour=7), "active", NOW
    )
    assert "sent" in run_cli("send", "--date", "2025-03-11").stdout
    kept = "Emails already queued or sent keep it."
    assert skip("2025-03-11") == (200, f"{arxiv_id} will not be in the issue of 2025-03-11. {kept}")
    back = f"{arxiv_id} is back in the issue of 2025-03-11 for the emails not queued yet."
    assert skip("2025-03-11", undo=True) == (200, back)
    # The next day's issue draws on the same listing: skipping it there says the day before's, still
    # being sent to the west, holds it too.
    status, message = skip("2025-03-12")
    assert (
        status == 200
        and "It is also in the issue of 2025-03-11, being sent now: skip it there too" in message
    )
    declared = world.client.get("/api/openapi.json").json()["paths"]["/api/skip"]["post"]["responses"]
    assert {"200", "404", "422"} <= set(declared) and "409" not in declared


def test_api_fetch_answers_502_when_every_source_fails_and_200_when_one_works(world, db_url, smtp):
    # The world's only source is a closed local port: nothing was fetched, and the client is told so.
    failed = world.client.post("/api/fetch", headers=BEARER)
    assert failed.status_code == 502
    assert failed.json()["failures"] == ["hf-trending: source unreachable"]
    assert "0 sources ok" in failed.json()["line"]
    # Two sources, one of them down: what was fetched is stored, and the failure is named in a 200.
    march = MARCH.read_text(encoding="utf-8")
    net = ScriptedHttp(
        {"/papers/trending": [status(503)], "/api/daily_papers": [ok(march, "application/json")]}
    )
    settings = web_settings(
        db_url, smtp[1].port, NEWSLETTER_SOURCES_ENABLED="hf-trending, hf-api", NEWSLETTER_SOURCES_RETRIES="0"
    )
    svc = app.build_services(settings, world.store, clock=lambda: NOW, http_transport=net.transport)
    with TestClient(create_app(svc), base_url="https://papers.example.org") as client:
        partial = client.post("/api/fetch", headers=BEARER)
    assert partial.status_code == 200, partial.text
    assert partial.json()["failures"] == ["hf-trending: source unreachable"]
    # The listing is the clock's day (NOW), whatever the papers' own dates.
    assert len(world.store.papers.listed(NOW.date())) == len(json.loads(march))


def test_a_crafted_notice_in_the_address_is_not_shown_to_the_admin(world):
    world.login()
    bait = "Your session expired, sign in again at evil.example"
    for path in ("/admin", "/admin/preview"):
        page = world.client.get(path, params={"notice": bait})
        assert page.status_code == 200 and "evil.example" not in page.text


def test_an_address_of_spaces_previews_the_ad_hoc_topics_instead(world):
    world.login()
    page = world.client.get("/admin/preview", params={"email": "   ", "topics": "speech recognition"})
    assert page.status_code == 200, page.text
    # Before, the spaces were looked up as an address: "no subscriber    ", and no preview.
    assert 'role="alert"' not in page.text and ('id="subject"' in page.text or 'id="no-email"' in page.text)
