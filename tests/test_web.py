"""The web app over HTTP (Starlette's test client), on a real store and a real SMTP server."""

from __future__ import annotations

import hashlib
import re
import time
from xml.etree import ElementTree

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from newsletter.scrape import parse_api
from newsletter.subscribers import Preferences, preferences
from newsletter.tokens import fingerprint
from tests.conftest import HF_API
from tests.web_support import ADMIN_PASSWORD, ADMIN_TOKEN, NOW, SECRET, link_in, make_world

MARCH = HF_API / "daily_papers_2025-03-11.json"


def subscribe(world, email="ada@example.org", topics="LLM reasoning\n-survey", **fields):
    token = world.csrf("/")
    data = {"email": email, "topics": topics, "hour": "7", "timezone": "Europe/Paris", "cadence": "daily",
            "weekday": "0", "per_email": "10", "csrftoken": token, **fields}  # fmt: skip
    return world.client.post("/subscribe", data=data)


def mail_to(handler, email):
    found = [r for r in handler.received if r.recipient == email]
    assert found, f"no mail to {email}"
    return found[-1].parsed().get_body(("plain",)).get_content()


def test_subscribe_confirm_by_post_only(world, smtp):
    handler, _ = smtp
    response = subscribe(world)
    assert response.status_code == 200
    assert "Check your inbox" in response.text
    sub = world.store.subscribers.by_email("ada@example.org")
    assert sub.status == "pending" and sub.excludes == ("survey",)
    confirm = link_in(mail_to(handler, "ada@example.org"), "confirm")
    # Link scanners only GET: a GET shows a button and changes nothing.
    page = world.client.get(confirm)
    assert page.status_code == 200 and "Confirm subscription" in page.text
    assert world.store.subscribers.by_email("ada@example.org").status == "pending"
    done = world.client.post(confirm, data={"csrftoken": world.csrf(confirm)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert world.store.subscribers.by_email("ada@example.org").status == "active"


def test_a_weekly_reader_is_told_the_day_of_their_first_digest(world, smtp):
    handler, _ = smtp
    assert subscribe(world, "wes@example.org", cadence="weekly", weekday="4").status_code == 200
    confirm = link_in(mail_to(handler, "wes@example.org"), "confirm")
    done = world.client.post(confirm, data={"csrftoken": world.csrf(confirm)})
    assert "Your first digest arrives on Friday at 07:00 (Europe/Paris)." in done.text


def test_the_answer_is_the_same_for_known_and_unknown_addresses(world, smtp):
    handler, _ = smtp
    world.store.subscribers.add(
        "known@example.org", preferences(["speech"], timezone="UTC", hour=7), "active", NOW
    )
    known = subscribe(world, email="known@example.org")
    unknown = subscribe(world, email="new@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("known@", "X@") == unknown.text.replace("new@", "X@")
    # The known reader's topics are not changed by an unauthenticated form; they get a manage link instead.
    assert world.store.subscribers.by_email("known@example.org").topics == ("speech",)
    assert "/manage/" in mail_to(handler, "known@example.org")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not an email"}, "Email:"),
        ({"topics": ""}, "Topics: give at least one topic"),
        ({"topics": "x" * 201}, "Topics: at most 200 characters"),
        ({"topics": "speech\n-"}, "Exclusions (lines starting with -): an entry is empty"),
        ({"timezone": "Mars/Base"}, "Time zone: unknown time zone"),
        ({"hour": "25"}, "Delivery hour: must be between 0 and 23"),
        ({"hour": "seven"}, "Delivery hour: must be a whole number"),
        ({"per_email": "31"}, "Papers per email: must be between 1 and 30"),
        ({"email": "a@example.org\r\nBcc: b@example.org"}, "control characters"),
    ],
)
def test_bad_signups_get_422_and_store_nothing(world, fields, message):
    response = subscribe(world, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert world.store.subscribers.listed() == []


def test_hostile_input_is_reflected_escaped(world):
    response = subscribe(world, topics="<script>alert(1)</script>\n" + "y" * 201)
    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_subscribe_rate_limit_per_address_triggers(world):
    codes = [subscribe(world, email="bomb@example.org").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_subscribe_rate_limit_per_ip_triggers(world):
    codes = [subscribe(world, email=f"r{i}@example.org").status_code for i in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429


def _active(world, email="reader@example.org"):
    prefs = preferences(["LLM reasoning"], timezone="UTC", hour=7)
    return world.store.subscribers.add(email, prefs, "active", NOW)


def test_manage_page_edits_topics(world):
    sub = _active(world)
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    page = world.client.get(path)
    assert page.status_code == 200 and "LLM reasoning" in page.text
    data = {"topics": "robot manipulation\nNeRF\n-survey", "hour": "6", "timezone": "Asia/Kolkata",
            "cadence": "weekly", "weekday": "4", "per_email": "5", "csrftoken": world.csrf(path)}  # fmt: skip
    saved = world.client.post(path, data=data, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"{path}?saved=1"
    assert "Saved" in world.client.get(saved.headers["location"]).text
    after = world.store.subscribers.get(sub.id)
    assert (after.topics, after.excludes, after.timezone, after.hour) == (
        ("robot manipulation", "NeRF"), ("survey",), "Asia/Kolkata", 6,
    )  # fmt: skip
    assert (after.cadence, after.weekday, after.per_email) == ("weekly", 4, 5)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_rfc8058_one_click_unsubscribe(world, encoding):
    sub = _active(world)
    path = f"/unsubscribe/{world.svc.signer().mint('unsubscribe', sub)}"
    world.client.cookies.clear()
    if encoding == "urlencoded":
        response = world.client.post(path, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    else:
        response = world.client.post(
            path, files={"List-Unsubscribe": (None, "One-Click")}, follow_redirects=False
        )
    assert response.status_code == 200
    assert "location" not in response.headers
    assert world.store.subscribers.get(sub.id).status == "unsubscribed"
    assert '<a href="/">Unsubscribed by mistake? Sign up again</a>' in response.text


def test_unsubscribe_get_changes_nothing(world):
    sub = _active(world)
    path = f"/unsubscribe/{world.svc.signer().mint('unsubscribe', sub)}"
    assert world.client.get(path).status_code == 200
    assert world.store.subscribers.get(sub.id).status == "active"


def test_an_unsubscribed_reader_is_not_offered_unsubscribe_again(world):
    sub = _active(world)
    signer = world.svc.signer()
    path = f"/unsubscribe/{signer.mint('unsubscribe', sub)}"
    assert 'id="unsubscribe"' in world.client.get(path).text
    world.client.post(path, data={"List-Unsubscribe": "One-Click"})
    again = world.client.get(path)
    assert again.status_code == 200 and "is already unsubscribed" in again.text
    assert 'id="unsubscribe"' not in again.text and '<a href="/">Sign up again</a>' in again.text
    manage = world.client.get(f"/manage/{signer.mint('manage', sub)}")
    assert 'id="unsubscribe"' not in manage.text and "You are unsubscribed: no emails are sent" in manage.text


def test_forged_expired_and_misused_tokens_are_refused(world):
    sub = _active(world)
    signer = world.svc.signer()
    manage = signer.mint("manage", sub)
    bad = world.client.get(f"/manage/{manage}x")
    assert bad.status_code == 404 and "This link is not valid. Links in our emails are personal" in bad.text
    assert bad.headers["cache-control"] == "no-store"  # as the page it stands in for
    assert '<a href="/">Go to the sign-up page</a>' in bad.text
    assert world.client.get(f"/manage/{manage[:-3]}abc").status_code == 404
    # A manage token is not an unsubscribe token, nor a confirm token.
    assert (
        world.client.post(f"/unsubscribe/{manage}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    )
    assert world.client.get(f"/confirm/{manage}").status_code == 404
    assert world.store.subscribers.get(sub.id).status == "active"

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 49 * 3600

    old = URLSafeTimedSerializer(
        SECRET, salt="newsletter.confirm", signer=Past, signer_kwargs={"digest_method": hashlib.sha256}
    )
    expired = old.dumps({"s": sub.id, "f": fingerprint(sub.email)})
    response = world.client.get(f"/confirm/{expired}")
    assert response.status_code == 410 and "This link has expired. Enter your address" in response.text
    assert response.headers["cache-control"] == "no-store"
    # A token signed with another key is forged.
    forged = URLSafeTimedSerializer("another-secret-key-entirely", salt="newsletter.confirm").dumps(
        {"s": sub.id}
    )
    assert world.client.post(f"/confirm/{forged}", data={"csrftoken": world.csrf("/")}).status_code == 404


def test_token_of_a_deleted_and_replaced_subscriber_is_dead(world):
    sub = _active(world, "first@example.org")
    token = world.svc.signer().mint("unsubscribe", sub)
    world.store.subscribers.remove("first@example.org")
    newcomer = _active(world, "second@example.org")
    assert (
        world.client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    )
    assert world.store.subscribers.get(newcomer.id).status == "active"


def test_admin_pages_refuse_anonymous_users(world):
    for path in ("/admin", "/admin/preview"):
        response = world.client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    assert world.client.get("/api/subscribers/counts").status_code == 401
    assert (
        world.client.get("/api/subscribers/counts", headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    ok = world.client.get("/api/subscribers/counts", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert ok.status_code == 200 and ok.json()["active"] == 0


def test_wrong_admin_password_is_refused(world):
    token = world.csrf("/admin/login")
    response = world.client.post(
        "/admin/login", data={"password": "guess", "csrftoken": token}, follow_redirects=False
    )
    assert response.status_code == 401
    assert world.client.get("/admin", follow_redirects=False).status_code == 303


def test_post_without_csrf_token_fails(world):
    world.login()
    assert world.client.get("/admin").status_code == 200
    response = world.client.post("/admin/skip", data={"arxiv_id": "2503.07595", "date": "tomorrow"})
    assert response.status_code == 403
    response = world.client.post("/admin/login", data={"password": "x"})
    assert response.status_code == 403
    # Checked even without any cookie: a cross-site form post cannot sign anyone up.
    world.client.cookies.clear()
    response = world.client.post("/subscribe", data={"email": "x@example.org", "topics": "speech"})
    assert response.status_code == 403
    assert world.store.subscribers.listed() == []


def test_session_cookie_is_secure_on_https(world):
    token = world.csrf("/admin/login")
    response = world.client.post(
        "/admin/login", data={"password": ADMIN_PASSWORD, "csrftoken": token}, follow_redirects=False
    )
    session = next(h for h in response.headers.get_list("set-cookie") if h.startswith("newsletter_admin="))
    attributes = {part.strip().split("=")[0].lower() for part in session.split(";")[1:]}
    assert {"secure", "httponly", "samesite"} <= attributes
    assert "samesite=strict" in session.lower() and "max-age=43200" in session.lower()
    flags = {c.name: c.secure for c in world.client.cookies.jar}
    assert flags["newsletter_admin"] is True
    assert flags["csrftoken"] is True


def test_admin_preview_shows_picks_and_the_exact_email(world, run_cli):
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    _active(world, "p@example.org")
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


def test_an_unknown_address_gets_a_page_and_the_api_keeps_json(world):
    page = world.client.get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and 'href="/"' in page.text
    api = world.client.get("/api/no-such-thing", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_pages_name_an_inline_icon_and_favicon_ico_is_not_a_404(world):
    # Without an icon the browser asks for /favicon.ico on every page: a 404 and a console error.
    for path in ("/", "/admin/login", "/no-such-page"):
        page = world.client.get(path)
        assert '<link rel="icon" href="data:,">' in page.text
        assert "img-src * data:" in page.headers["content-security-policy"]  # the policy lets it load
    icon = world.client.get("/favicon.ico")
    assert icon.status_code == 204 and icon.content == b""


def test_the_feed_lists_sent_digests_named_by_cadence(world, run_cli):
    assert run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11").exit_code == 0
    daily = _active(world, "d@example.org")
    # 11 March 2025 is a Tuesday.
    weekly_prefs = preferences(["LLM reasoning"], timezone="UTC", hour=7, cadence="weekly", weekday="tue")
    weekly = world.store.subscribers.add("w@example.org", weekly_prefs, "active", NOW)
    assert "2 sent" in run_cli("send", "--date", "2025-03-11").stdout  # to the outbox

    def titles(sub):
        feed = world.client.get(f"/feed/{world.svc.signer().mint('feed', sub)}.xml")
        assert feed.status_code == 200
        atom = "{http://www.w3.org/2005/Atom}"
        entries = ElementTree.fromstring(feed.content).findall(f"{atom}entry")
        for entry in entries:
            # A feed reader opens the entry's link: the digest's top pick on Hugging Face.
            link = entry.find(f"{atom}link[@rel='alternate']")
            assert link is not None and link.get("href", "").startswith("https://huggingface.co/papers/")
            assert f'href="{link.get("href")}"' in entry.findtext(f"{atom}content", "")
        return [entry.findtext(f"{atom}title") for entry in entries]

    assert titles(daily) == ["Papers for Tue 11 Mar 2025"]
    assert titles(weekly) == ["Your week of papers to Tue 11 Mar 2025"]


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
        _active(world, "llm@example.org")
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
        _active(world, email)
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
