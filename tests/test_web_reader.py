"""Reader pages over HTTP: what a reader sees after confirming, saving, signing up again, and CSRF."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from newsletter.subscribers import preferences
from tests.conftest import HF_API
from tests.web_support import NOW, link_in, manage_form, reader


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("unsubscribed", "You are unsubscribed, so no digest is sent"),
        ("bounced", "Mail to this address bounced, so no digest is sent"),
        ("pending", "No digest is sent until you confirm"),
    ],
)
def test_saving_choices_while_not_subscribed_says_no_digest_is_sent(world, status, says):
    sub = reader(world, status)
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    saved = world.client.post(path, data=manage_form(world, path))
    assert [r.status_code for r in saved.history] == [303] and saved.url.query == b"saved=1"
    assert saved.status_code == 200
    assert "Saved." in saved.text and says in saved.text
    assert "Your next digest uses these choices" not in saved.text
    assert world.store.subscribers.get(sub.id).topics == ("robot manipulation",)
    if status == "bounced":  # a new sign-up would send it nothing
        assert "ask whoever runs this newsletter to add it back" in saved.text and "Sign up" not in saved.text
    if status == "unsubscribed":  # the saved choices, a button away
        assert (
            '<a href="#again">Sign up again with these choices</a>' in saved.text
            and 'id="again"' in saved.text
        )


def test_saving_choices_while_active_says_the_next_digest_uses_them(world):
    sub = reader(world)
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    # Post/redirect/get: Save lands on a page whose reload sends nothing again.
    posted = world.client.post(path, data=manage_form(world, path), follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"] == f"{path}?saved=1"
    for _reload in range(2):
        saved = world.client.get(posted.headers["location"])
        assert saved.status_code == 200 and "Saved. Your next digest uses these choices." in saved.text
        assert "robot manipulation" in saved.text
    assert "Saved." not in world.client.get(path).text  # the page opened from the email says nothing of it


def test_an_empty_time_zone_is_a_form_error_and_changes_nothing(world):
    sub = reader(world, timezone="Asia/Tokyo")
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    refused = world.client.post(path, data=manage_form(world, path, timezone=""))
    assert refused.status_code == 422 and not refused.history  # the form again, not a redirect
    assert "timezone" in refused.text and "Saved" not in refused.text
    assert "robot manipulation" in refused.text  # what was typed, to fix and send again
    after = world.store.subscribers.get(sub.id)
    assert (after.timezone, after.topics) == ("Asia/Tokyo", ("LLM reasoning",))


def test_a_time_zone_typed_in_any_case_is_stored_under_its_canonical_name(world):
    sub = reader(world, timezone="Asia/Tokyo")
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    saved = world.client.post(path, data=manage_form(world, path, timezone="europe/paris"))
    assert saved.status_code == 200 and "Saved." in saved.text and 'value="Europe/Paris"' in saved.text
    assert world.store.subscribers.get(sub.id).timezone == "Europe/Paris"
    # An old spelling, in any case, becomes the current name; unknown names are still refused.
    world.client.post(path, data=manage_form(world, path, timezone="ASIA/CALCUTTA"))
    assert world.store.subscribers.get(sub.id).timezone == "Asia/Kolkata"
    for unknown in ("mars/base", "LOCALTIME"):
        refused = world.client.post(path, data=manage_form(world, path, timezone=unknown))
        assert refused.status_code == 422 and "unknown time zone" in refused.text
    assert world.store.subscribers.get(sub.id).timezone == "Asia/Kolkata"


def test_opening_a_confirm_link_again_says_already_confirmed(world, smtp):
    handler, _ = smtp
    token = world.csrf("/")
    data = {"email": "ada@example.org", "topics": "speech", "hour": "7", "timezone": "UTC",
            "cadence": "daily", "weekday": "0", "per_email": "10", "csrftoken": token}  # fmt: skip
    assert world.client.post("/subscribe", data=data).status_code == 200
    mail = next(r for r in handler.received if r.recipient == "ada@example.org")
    confirm = link_in(mail.parsed().get_body(("plain",)).get_content(), "confirm")
    assert world.client.post(confirm, data={"csrftoken": world.csrf(confirm)}).status_code == 200
    again = world.client.get(confirm)
    assert again.status_code == 200
    assert "already confirmed" in again.text and "Confirm subscription" not in again.text
    assert 'href="/manage/' in again.text and "Change your topics" in again.text


def test_already_subscribed_email_does_not_say_nothing_will_be_sent(world, smtp):
    handler, _ = smtp
    reader(world)
    token = world.csrf("/")
    data = {"email": "reader@example.org", "topics": "speech", "hour": "7", "timezone": "UTC",
            "cadence": "daily", "weekday": "0", "per_email": "10", "csrftoken": token}  # fmt: skip
    assert world.client.post("/subscribe", data=data).status_code == 200
    mail = next(r for r in handler.received if r.recipient == "reader@example.org").parsed()
    assert mail["Subject"].startswith("You are already subscribed")
    for part in ("plain", "html"):
        body = mail.get_body((part,)).get_content()
        assert "nothing will be sent to you" not in body
        assert "your subscription stays as it is" in body


def test_feed_addresses_come_from_base_url_not_the_host_header(world):
    sub = reader(world)
    path = f"/feed/{world.svc.signer().mint('feed', sub)}.xml"
    feed = world.client.get(path, headers={"Host": "evil.example"})
    assert feed.status_code == 200
    assert "evil.example" not in feed.text
    atom = "{http://www.w3.org/2005/Atom}"
    root = ElementTree.fromstring(feed.content)
    assert root.findtext(f"{atom}id") == f"https://papers.example.org{path}"
    assert root.find(f"{atom}link").get("href") == f"https://papers.example.org{path}"


def test_a_feed_reader_polling_an_unchanged_feed_gets_an_empty_304(world, run_cli):
    sub = reader(world, timezone="UTC")
    path = f"/feed/{world.svc.signer().mint('feed', sub)}.xml"
    first = world.client.get(path)
    tag = first.headers["etag"]
    # The feed names the reader: a browser or reader may keep it, a shared cache may not.
    assert first.headers["cache-control"] == "private, no-cache"
    again = world.client.get(path, headers={"If-None-Match": tag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", tag)
    assert world.client.get(path, headers={"If-None-Match": '"other", ' + tag}).status_code == 304
    # A new digest changes the feed: the same tag now gets the whole feed, with a new tag.
    assert (
        run_cli(
            "fetch", "--file", str(HF_API / "daily_papers_2025-03-11.json"), "--date", "2025-03-11"
        ).exit_code
        == 0
    )
    assert "1 sent" in run_cli("send", "--date", "2025-03-11").stdout
    changed = world.client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert b"Papers for Tue 11 Mar 2025" in changed.content


def test_a_trending_only_email_shows_its_papers_on_the_manage_page_and_in_the_feed(world, run_cli):
    assert (
        run_cli(
            "fetch", "--file", str(HF_API / "daily_papers_2025-03-11.json"), "--date", "2025-03-11"
        ).exit_code
        == 0
    )
    prefs = preferences(["medieval falconry"], timezone="UTC", hour=7)  # nothing on these topics
    sub = world.store.subscribers.add("quiet@example.org", prefs, "active", NOW)
    assert "1 sent" in run_cli("send", "--date", "2025-03-11").stdout  # to the outbox
    manage = world.client.get(f"/manage/{world.svc.signer().mint('manage', sub)}")
    assert (
        "<td>2025-03-11</td><td>3 trending papers (nothing on your topics)</td><td>sent</td>" in manage.text
    )
    feed = world.client.get(f"/feed/{world.svc.signer().mint('feed', sub)}.xml")
    atom = "{http://www.w3.org/2005/Atom}"
    (entry,) = ElementTree.fromstring(feed.content).findall(f"{atom}entry")
    content = entry.findtext(f"{atom}content", "")
    assert content.count("<li>") == 3 and content.count("<em>(trending)</em>") == 3
    link = entry.find(f"{atom}link[@rel='alternate']")
    assert link is not None and link.get("href", "").startswith("https://huggingface.co/papers/")
    assert content.index(f'href="{link.get("href")}"') < content.index("</li>")  # the first one listed


def test_head_is_answered_wherever_get_is(world):
    sub = reader(world)
    signer = world.svc.signer()
    paths = ["/", "/healthz", f"/manage/{signer.mint('manage', sub)}", "/admin/login",
             f"/feed/{signer.mint('feed', sub)}.xml", "/api/topic-preview?topics=speech"]  # fmt: skip
    for path in paths:
        response = world.client.head(path)
        assert response.status_code == 200, path
        assert response.content == b""
    assert world.client.head("/no-such-page").status_code == 404


def test_topic_preview_names_the_real_length_of_a_long_topic(world):
    response = world.client.get("/api/topic-preview", params={"topics": "x" * 50_000})
    error = response.json()["error"]
    assert "200 characters" in error and "20000" not in error
    assert "50000" in error or "over 200" in error


def test_manage_post_without_csrf_token_fails_even_without_cookies(world):
    sub = reader(world)
    signer = world.svc.signer()
    path = f"/manage/{signer.mint('manage', sub)}"
    form = manage_form(world, path)
    del form["csrftoken"]
    world.client.cookies.clear()
    refused = world.client.post(path, data=form)
    assert refused.status_code == 403
    assert world.store.subscribers.get(sub.id).topics == ("LLM reasoning",)
    pending = world.store.subscribers.add(
        "new@example.org", preferences(["speech"], timezone="UTC", hour=7), "pending", NOW
    )
    confirm = f"/confirm/{signer.mint('confirm', pending)}"
    assert world.client.post(confirm).status_code == 403
    assert world.store.subscribers.get(pending.id).status == "pending"
    # RFC 8058 one-click unsubscribe stays exempt: the signed URL is the authority.
    one_click = world.client.post(
        f"/unsubscribe/{signer.mint('unsubscribe', sub)}", data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 200
    assert world.store.subscribers.get(sub.id).status == "unsubscribed"


def test_a_bounced_reader_pressing_an_old_confirm_link_is_told_no_digest_is_sent(world):
    sub = reader(world, "pending")
    confirm = f"/confirm/{world.svc.signer().mint('confirm', sub)}"
    world.store.subscribers.set_status(sub.id, "bounced", NOW)
    shown = world.client.get(confirm)
    pressed = world.client.post(confirm, data={"csrftoken": world.csrf("/")})
    for page in (shown, pressed):
        assert page.status_code == 200
        assert (
            "bounced, so no digest is sent" in page.text and "ask whoever runs this newsletter" in page.text
        )
        assert "Sign up again" not in page.text  # a new sign-up sends nothing to a bounced address
        assert "You are subscribed" not in page.text and "Confirm subscription" not in page.text
    assert world.store.subscribers.get(sub.id).status == "bounced"


@pytest.mark.parametrize("path", ["/subscribe", "/admin/logout", "/admin/skip", "/admin/preview/send"])
def test_opening_a_form_address_in_the_browser_gets_a_page_not_json(world, path):
    page = world.client.get(path)
    assert page.status_code == 405 and "POST" in page.headers["allow"]
    assert page.headers["content-type"].startswith("text/html")
    assert "only takes a form" in page.text and 'href="/"' in page.text
    api = world.client.get("/api/skip")
    assert api.status_code == 405 and api.json() == {"detail": "Method Not Allowed"}


def test_a_form_whose_cookie_was_lost_gets_a_page_that_leads_back_to_it(world):
    sub = reader(world)
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    form = manage_form(world, path)
    world.client.cookies.clear()  # a tab restored after the browser dropped its cookies
    for target, back in ((path, path), ("/subscribe", "/")):
        refused = world.client.post(target, data=form)
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
        assert "<title>" in refused.text and "This form has expired" in refused.text
        assert "Nothing was changed" in refused.text and f'href="{back}"' in refused.text
    assert world.store.subscribers.get(sub.id).topics == ("LLM reasoning",)
    # The page it leads back to works: its fresh form goes through.
    assert world.client.post(path, data=manage_form(world, path)).status_code == 200


def test_the_manage_page_lists_the_emails_sent_or_on_their_way_and_says_a_queued_one_keeps_old_choices(
    world, run_cli
):
    def listed(fixture, day):
        assert run_cli("fetch", "--file", str(HF_API / fixture), "--date", day).exit_code == 0

    sub = reader(world, timezone="UTC")
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    listed("daily_papers_2025-03-11.json", "2025-03-11")
    assert "1 sent" in run_cli("send", "--date", "2025-03-11").stdout
    # A day with nothing on their topics, where empty days send nothing: the reader is skipped (no
    # email), which the page does not list.
    world.store.subscribers.set_preferences(
        sub.id, preferences(["medieval falconry"], timezone="UTC", hour=7), NOW
    )
    skipped = run_cli("send", "--date", "2025-03-12", env={"NEWSLETTER_ISSUE_EMPTY_DAY": "skip"})
    assert "1 skipped" in skipped.stdout, skipped.output
    world.store.subscribers.set_preferences(
        sub.id, preferences(["LLM reasoning"], timezone="UTC", hour=7), NOW
    )
    listed("daily_papers_2025-05-30.json", "2025-03-13")
    assert "queue: 1 digest" in run_cli("send", "--date", "2025-03-13", "--queue-only").stdout

    page = world.client.get(path).text
    assert "<td>2025-03-13</td>" in page and "<td>on its way</td>" in page
    assert "<td>2025-03-11</td>" in page and "<td>sent</td>" in page
    assert "2025-03-12" not in page and "skipped" not in page

    saved = world.client.post(path, data=manage_form(world, path))
    assert saved.status_code == 200
    assert (
        "Saved. Your email of 2025-03-13 is already on its way with your earlier choices; "
        "the digests after it use these." in saved.text
    )
    assert "Your next digest uses these choices" not in saved.text
