"""The web app as an attacker drives it: crafted addresses, stolen links, responses read by other sites."""

from __future__ import annotations

import logging
import re

import pytest

from tests.web_support import WebWorld, reader


def _links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]*)"', html)


@pytest.mark.parametrize(
    "path",
    [
        "https://papers.example.org//evil.example/phish",  # a network-path reference: another host
        "/%2Fevil.example/phish",  # the same, once the path is decoded
        "/\\evil.example/phish",  # browsers read a backslash as a slash
        "/manage/a-token/..%2F..%2F%2Fevil.example",
    ],
)
def test_a_refused_cross_site_form_links_only_back_into_the_site(world: WebWorld, path: str) -> None:
    # Another site posts a form to a crafted address of ours: the CSRF check refuses it, and the page it
    # gets (on our origin, so trusted) must not offer a link to the attacker's host.
    response = world.client.post(path, data={"email": "ada@example.org"})
    assert response.status_code == 403 and "This form has expired" in response.text
    for href in _links(response.text):
        assert href.startswith("/") and not href.startswith("//") and "\\" not in href, href
        assert "evil.example" not in href


def test_a_refused_form_on_a_personal_page_logs_no_token(
    world: WebWorld, caplog: pytest.LogCaptureFixture
) -> None:
    # The log is read by more people, and kept longer, than a reader's own link: a manage token in it
    # would let any of them change that reader's topics for 90 days.
    sub = reader(world)
    token = world.svc.signer().mint("manage", sub)
    with caplog.at_level(logging.WARNING):
        refused = world.client.post(f"/manage/{token}", data={"topics": "spam"})
    assert refused.status_code == 403
    assert "form refused on /manage/" in caplog.text
    assert token not in caplog.text and token.split(".")[-1] not in caplog.text
