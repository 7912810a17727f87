"""The admin's pages over HTTP: the preview of any reader's issue, the dashboard, the issue page and the
API's description, on a real store and a real SMTP server. Logging in is in test_web_admin.py."""

from __future__ import annotations

import re

from newsletter.scrape import parse_api
from newsletter.subscribers import Preferences, preferences
from tests.conftest import HF_API
from tests.web_support import ADMIN_TOKEN, NOW, make_world, reader

MARCH = HF_API / "daily_papers_2025-03-11.json"


def test_admin_preview_shows_picks_and_the_exact_email(world, run_cli):
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    reader(world, timezone="UTC", email="p@example.org")
    world.login()
    page = world.client.get("/admin/preview", params={"email": "p@example.org", "date": "tomorrow"})
    assert page.status_code == 200
    assert "Preview of the issue of 2025-03-11" in page.text
    assert 'id="picks"' in page.text and "matches your topic" in page.text
    api = world.client.get(
        "/api/preview", params={"email": "p@example.org"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert api.status_code == 200
    body = api.json()
    assert body["issue_date"] == "2025-03-11" and body["picks"]
    assert body["html"].startswith("<!DOCTYPE html>")
    assert body["note"] is None and 'id="not-sent"' not in page.text
    # A reader and topics at once: the reader's own topics would silently win, so it is refused.
    both = world.client.get(
        "/api/preview",
        params={"email": "p@example.org", "topics": "robots"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert both.status_code == 422 and "email or some topics, not both" in both.json()["detail"]


def test_previewing_a_weekly_reader_on_another_day_says_they_do_not_get_it(world, run_cli):
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    weekly = preferences(["LLM reasoning"], timezone="UTC", hour=7, cadence="weekly", weekday="fri")
    world.store.subscribers.add("w@example.org", weekly, "active", NOW)
    world.login()
    # 11 March 2025 is a Tuesday.
    page = world.client.get("/admin/preview", params={"email": "w@example.org", "date": "2025-03-11"})
    assert page.status_code == 200 and 'id="picks"' in page.text
    said = "w@example.org reads weekly, on Fridays: the issue of 2025-03-11 (Tuesday) is not sent to them"
    assert said in page.text
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def api_note(day):
        params = {"email": "w@example.org", "date": day}
        return world.client.get("/api/preview", params=params, headers=headers).json()["note"]

    assert said in api_note("2025-03-11")
    assert api_note("2025-03-14") is None  # a Friday
    cli = run_cli("preview", "--email", "w@example.org", "--date", "2025-03-11")
    assert cli.exit_code == 0 and said in cli.stderr
    picks = run_cli("picks", "--email", "w@example.org", "--date", "2025-03-11")
    assert picks.exit_code == 0 and said in picks.stderr and "why:" in picks.stdout
    friday = run_cli("picks", "--email", "w@example.org", "--date", "2025-03-14")
    assert friday.exit_code == 0 and "note:" not in friday.stderr and "why:" in friday.stdout


def test_previewing_a_reader_who_is_not_active_says_they_get_nothing(world, run_cli):
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    prefs = preferences(["LLM reasoning"], timezone="UTC", hour=7)
    world.store.subscribers.add("waiting@example.org", prefs, "pending", NOW)
    world.login()
    page = world.client.get("/admin/preview", params={"email": "waiting@example.org", "date": "2025-03-11"})
    said = "waiting@example.org is pending: no issue is sent to them; this is what it would hold"
    assert page.status_code == 200 and 'id="picks"' in page.text and said in page.text
    cli = run_cli("preview", "--email", "waiting@example.org", "--date", "2025-03-11")
    assert cli.exit_code == 0 and f"preview: note: {said}" in cli.stderr
    picks = run_cli("picks", "--email", "waiting@example.org", "--date", "2025-03-11")
    assert picks.exit_code == 0 and f"picks: note: {said}" in picks.stderr


def test_the_admin_preview_reaches_any_reader_however_many_there_are(world, run_cli):
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    readers = ((f"r{i:03d}@example.org", Preferences(("LLM reasoning",))) for i in range(600))
    world.store.subscribers.add_many(readers, "active", NOW)
    world.login()
    page = world.client.get("/admin/preview")
    suggested = re.findall(r'<option value="(r\d+@example\.org)">active</option>', page.text)
    assert len(suggested) == 500 and suggested[0] == "r599@example.org"  # the newest first
    # The first reader is not among the suggestions, and can still be previewed.
    oldest = world.client.get("/admin/preview", params={"email": "r000@example.org", "date": "2025-03-11"})
    assert oldest.status_code == 200 and 'id="picks"' in oldest.text
    assert 'value="r000@example.org"' in oldest.text
    unknown = world.client.get("/admin/preview", params={"email": "nobody@example.org"})
    assert unknown.status_code == 422 and "no subscriber nobody@example.org" in unknown.text


def test_the_dashboard_counts_papers_listed_again(world, run_cli):
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-12").exit_code == 0
    world.login()
    table = world.client.get("/admin").text.split('id="fetches"')[1].split("</table>")[0]
    assert "<th>Listed again</th>" in table
    papers = len(parse_api(MARCH.read_text()).listings)
    newest, first = re.findall(r"<tr><td>[^<]+</td><td>file</td>(.*?)</tr>", table, re.S)

    def counts(row: str) -> list[str]:
        """Papers, new, updated, listed again, skipped."""
        return re.findall(r"<td>([^<]*)</td>", row)[:5]

    assert counts(newest) == [str(papers), "0", "0", str(papers), "0"]
    assert counts(first) == [str(papers), str(papers), "0", "0", "0"]


def test_healthz_and_the_dashboard_say_whether_a_scheduler_runs(world):
    response = world.client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response.json()["scheduler_running"] is False
    world.login()
    assert "Scheduler: <strong>not running</strong>" in world.client.get("/admin").text
    assert world.store.leases.acquire("scheduler", "host-a:123:abcdef", NOW, 60)
    assert world.client.get("/healthz").json()["scheduler_running"] is True
    assert "host-a" not in world.client.get("/healthz").text  # hosts are for the admin, not the public
    assert "Scheduler: running, as host-a:123:abcdef." in world.client.get("/admin").text


def test_openapi_describes_the_admin_api(world):
    schema = world.client.get("/api/openapi.json").json()
    assert {"/api/preview", "/api/issues", "/api/skip", "/api/fetch", "/api/subscribers/counts"} <= set(
        schema["paths"]
    )


def test_a_preview_without_an_email_says_why(db_url, smtp, run_cli):
    # empty_day = skip: a reader with nothing on their topics gets no email at all.
    world = make_world(db_url, smtp[1].port, NEWSLETTER_ISSUE_EMPTY_DAY="skip")
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        nomatch = preferences(["marine biology of coral reefs"], timezone="UTC", hour=7)
        world.store.subscribers.add("reef@example.org", nomatch, "active", NOW)
        world.login()
        params = {"email": "reef@example.org", "date": "tomorrow"}

        # Before any fetch, the issue has no papers: the page says so and where to fetch.
        page = world.client.get("/admin/preview", params=params)
        assert page.status_code == 200 and 'id="no-email"' in page.text
        assert "No papers are listed for the issue of 2025-03-11 yet, so it sends no email." in page.text
        assert '“Re-run the fetch” on the <a href="/admin">dashboard</a>' in page.text
        body = world.client.get("/api/preview", params=params, headers=headers).json()
        assert (body["kind"], body["pool"], body["html"]) == ("skip", 0, None)
        assert body["no_email"].startswith("no papers listed for the issue of 2025-03-11")

        assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
        page = world.client.get("/admin/preview", params=params)
        said = "reef@example.org would get no email from the issue of 2025-03-11: nothing on their topics"
        assert said in page.text and "Re-run the fetch" not in page.text
        body = world.client.get("/api/preview", params=params, headers=headers).json()
        assert body["kind"] == "skip" and body["pool"] == len(parse_api(MARCH.read_text()).listings)
        assert body["no_email"] == "nothing on their topics (empty_day = skip)"

        # A reader who does get an email sees no such card, and the API gives no reason.
        reader(world, timezone="UTC", email="llm@example.org")
        page = world.client.get("/admin/preview", params={"email": "llm@example.org", "date": "tomorrow"})
        assert 'id="picks"' in page.text and 'id="no-email"' not in page.text
        body = world.client.get("/api/preview", params={"email": "llm@example.org"}, headers=headers).json()
        assert body["kind"] == "digest" and body["no_email"] is None
    finally:
        world.client.close()
        world.store.dispose()


def test_the_admin_issue_page_names_who_failed_and_why(world, smtp, run_cli):
    handler, controller = smtp
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    for email in ("ok@example.org", "gone@example.org", "later@example.org"):
        reader(world, timezone="UTC", email=email)
    handler.script.update({"gone@example.org": ["550"], "later@example.org": ["451"]})
    relay = {
        "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(controller.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@example.org",
    }
    sent = run_cli("send", "--date", "2025-03-11", env=relay)
    assert "1 sent, 1 deferred, 1 failed" in sent.stdout, sent.output
    world.login()
    dashboard = world.client.get("/admin").text
    assert '<a href="/admin/issue/2025-03-11">2025-03-11</a>' in dashboard
    page = world.client.get("/admin/issue/2025-03-11")
    assert page.status_code == 200 and "The issue of 2025-03-11" in page.text
    failed = page.text.split('id="failed"')[1].split("</section>")[0]
    assert "gone@example.org" in failed and "550 5.1.1 No such user here" in failed
    deferred = page.text.split('id="deferred"')[1].split("</section>")[0]
    assert "later@example.org" in deferred and "451 4.3.0" in deferred
    assert "ok@example.org" not in page.text
    assert world.client.get("/admin/issue/2025-03-12").status_code == 404
    assert world.client.get("/admin/issue/not-a-date").status_code == 422
    world.client.cookies.clear()
    assert world.client.get("/admin/issue/2025-03-11", follow_redirects=False).status_code == 303
