"""The pages' scripts come from files of their own, so the pages' policy runs no inline script."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from newsletter.subscribers import preferences
from newsletter.web.assets import Scripts
from tests.web_support import WebWorld, reader


def _pages(world: WebWorld) -> dict[str, str]:
    """A path of each page that loads a script: the sign-up form, a reader's manage and confirm pages."""
    signer = world.svc.signer()
    sub = reader(world)
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    pending = world.store.subscribers.add("new@example.org", prefs, "pending", world.svc.clock())
    return {
        "sign-up": "/",
        "manage": f"/manage/{signer.mint('manage', sub)}",
        "confirm": f"/confirm/{signer.mint('confirm', pending)}",
    }


def test_pages_load_their_scripts_from_our_own_files_and_allow_no_inline_script(world: WebWorld) -> None:
    # Markup slipped into a page (a topic, a scraped title) can then never run as script, even if
    # escaping failed somewhere: the browser runs only what /js/ serves.
    for kind, path in _pages(world).items():
        page = world.client.get(path)
        assert page.status_code == 200, kind
        policy = dict(
            part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
        )
        assert policy["script-src"] == "'self'", kind
        scripts = BeautifulSoup(page.text, "html.parser").find_all("script")
        assert scripts, kind
        for script in scripts:
            assert script.get("src", "").startswith("/js/"), (kind, script)
            assert not script.get_text(strip=True), (kind, script)
            served = world.client.get(script["src"])
            assert served.status_code == 200, script["src"]
            assert served.headers["content-type"] == "text/javascript; charset=utf-8"
            assert served.headers["x-content-type-options"] == "nosniff"
            assert "addEventListener" in served.text


def test_a_script_name_that_is_not_ours_is_not_found(world: WebWorld) -> None:
    for path in ("/js/nothing.js", "/js/subscribe", "/js/..%2F..%2Fconfig.toml", "/js/..%2Fbase.html.j2"):
        answer = world.client.get(path)
        assert answer.status_code == 404, path
        assert "addEventListener" not in answer.text and "autoescape" not in answer.text


def test_a_changed_script_gets_a_new_address(tmp_path: Path) -> None:
    # A browser keeps a script for a day; after an upgrade the page must name the new one, not the kept one.
    (tmp_path / "page.js").write_text("var a = 1;\n")
    before = Scripts(tmp_path).url("page")
    (tmp_path / "page.js").write_text("var a = 2;\n")
    after = Scripts(tmp_path).url("page")
    assert before.startswith("/js/page.js?v=") and after.startswith("/js/page.js?v=")
    assert before != after
    with pytest.raises(KeyError, match=r"templates/web/js/missing\.js"):
        Scripts(tmp_path).url("missing")
