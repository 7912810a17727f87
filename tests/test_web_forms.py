"""A refused reader form over HTTP: each select and number field shows the saved value (or the default)
again, marked as refused, so pressing Save again never sends another valid value in its place."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup, Tag

from newsletter.subscribers import preferences
from tests.web_support import NOW, WebWorld, make_world, manage_form

# Values a doctored page (or a stale script) could send for each select or number field.
REFUSED = [
    ("hour", "7am", "Delivery hour: must be a whole number"),
    ("hour", "24", "Delivery hour: must be between 0 and 23"),
    ("hour", "", "Delivery hour: must be a whole number"),
    ("cadence", "monthly", "How often: must be one of daily, weekly"),
    ("weekday", "friday", "Weekly on: must be a whole number"),
    ("weekday", "7", "Weekly on: must be 0 (Monday) to 6 (Sunday)"),
    ("per_email", "many", "Papers on your topics per email: must be a whole number"),
    ("per_email", "31", "Papers on your topics per email: must be between 1 and 30"),
]
# The saved reader's choices, none of them a select's first option or a default.
SAVED = {"hour": "9", "cadence": "weekly", "weekday": "4", "per_email": "12"}
# The sign-up's defaults, set apart from the selects' first options.
DEFAULTS = {"hour": "8", "cadence": "daily", "weekday": "0", "per_email": "6"}


@pytest.fixture
def world(db_url, smtp) -> Iterator[WebWorld]:
    """The web app, with sign-up defaults that differ from the selects' first options."""
    w = make_world(
        db_url,
        smtp[1].port,
        NEWSLETTER_SUBSCRIBERS_DEFAULT_HOUR=DEFAULTS["hour"],
        NEWSLETTER_SUBSCRIBERS_DEFAULT_PER_EMAIL=DEFAULTS["per_email"],
    )
    yield w
    w.client.close()
    w.store.dispose()


def browser_fields(html: str, form_id: str) -> dict[str, str]:
    """What a browser sends when the form is submitted as shown: a select with no selected option
    sends its first one; a number input drops a value that is not a number."""
    form = BeautifulSoup(html, "html.parser").find("form", id=form_id)
    assert isinstance(form, Tag)
    values: dict[str, str] = {}
    for field in form.find_all(["input", "select", "textarea"]):
        name = str(field.get("name", ""))
        if field.name == "select":
            options = field.find_all("option")
            chosen = [o for o in options if o.has_attr("selected")] or options[:1]
            values[name] = str(chosen[-1]["value"])
        elif field.name == "textarea":
            values[name] = field.get_text()
        else:
            value = str(field.get("value", ""))
            if field.get("type") == "number" and not value.lstrip("-").isdigit():
                value = ""
            values[name] = value
    return values


def marked_refused(html: str, field: str, message: str) -> None:
    page = BeautifulSoup(html, "html.parser")
    element = page.find(id=field)
    assert isinstance(element, Tag)
    assert element.get("aria-invalid") == "true", field
    described = page.find(id=str(element["aria-describedby"]).split()[0])
    assert described is not None and described.get_text().startswith(message)


def saved_reader(world: WebWorld):
    prefs = preferences(
        ["LLM reasoning"], timezone="Asia/Tokyo", hour=9, cadence="weekly", weekday=4, per_email=12
    )
    return world.store.subscribers.add("reader@example.org", prefs, "active", NOW)


@pytest.mark.parametrize(("field", "value", "message"), REFUSED)
def test_a_refused_choice_on_manage_shows_the_saved_one_and_saving_again_keeps_it(
    world, field, value, message
):
    sub = saved_reader(world)
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    form = manage_form(world, path, **SAVED, topics="robot manipulation")
    refused = world.client.post(path, data={**form, field: value})
    assert refused.status_code == 422
    marked_refused(refused.text, field, message)
    shown = browser_fields(refused.text, "manage")
    assert {key: shown[key] for key in SAVED} == SAVED
    assert shown["topics"] == "robot manipulation"  # what was typed stays
    # Pressing Save on the page as shown saves what it shows: the saved choices, the new topics.
    assert world.client.post(path, data=shown).status_code == 200
    after = world.store.subscribers.get(sub.id)
    assert (after.hour, after.cadence, after.weekday, after.per_email) == (9, "weekly", 4, 12)
    assert after.topics == ("robot manipulation",)


@pytest.mark.parametrize(("field", "value", "message"), REFUSED)
def test_a_refused_choice_on_sign_up_shows_the_default(world, field, value, message):
    data = {"email": "new@example.org", "topics": "LLM reasoning", "timezone": "Europe/Paris", **SAVED,
            "csrftoken": world.csrf("/"), field: value}  # fmt: skip
    refused = world.client.post("/subscribe", data=data)
    assert refused.status_code == 422
    marked_refused(refused.text, field, message)
    shown = browser_fields(refused.text, "subscribe")
    # The refused field shows the default; the others keep what was chosen.
    assert shown[field] == DEFAULTS[field]
    assert {key: shown[key] for key in SAVED if key != field} == {
        k: v for k, v in SAVED.items() if k != field
    }
    assert (shown["email"], shown["timezone"]) == ("new@example.org", "Europe/Paris")


@pytest.mark.parametrize("path_of", ["manage", "sign-up"])
def test_choices_sent_in_another_spelling_are_shown_as_chosen_when_another_field_is_refused(world, path_of):
    # "07" and " 4" are read as 7 and 4: shown again after another field's error, they stay chosen.
    spelled = {"hour": "07", "weekday": " 4", "cadence": "weekly", "per_email": " 12 "}
    if path_of == "manage":
        sub = saved_reader(world)
        path = f"/manage/{world.svc.signer().mint('manage', sub)}"
        form_id, data = "manage", {**manage_form(world, path), **spelled, "hour": "03"}
    else:
        path, form_id = "/subscribe", "subscribe"
        data = {"email": "new@example.org", "topics": "speech", "csrftoken": world.csrf("/"), **spelled,
                "hour": "03"}  # fmt: skip
    refused = world.client.post(path, data={**data, "timezone": "Mars/Olympus"})
    assert refused.status_code == 422
    marked_refused(refused.text, "timezone", "Time zone:")
    shown = browser_fields(refused.text, form_id)
    assert {key: shown[key] for key in SAVED} == {
        "hour": "3",
        "cadence": "weekly",
        "weekday": "4",
        "per_email": "12",
    }
    assert shown["timezone"] == "Mars/Olympus"  # typed text stays, to be corrected
