"""One address, one reader, in every spelling: an international domain in Unicode or in IDNA is the same
reader at the CLI, on the web form and in the store, and the keys and link fingerprints of addresses already
stored stay those of the release before.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.subscribers import email_key, normalize_email, preferences
from newsletter.tokens import fingerprint
from tests.conftest import FIXED_NOW, HF_API
from tests.subscribers_support import listed
from tests.test_web import mail_to, subscribe

# Dorte's domain in its two spellings: Unicode, as `subscribers add` stores it, and IDNA, as mail goes.
DORTE = "dorte@exämple.de"


DORTE_IDNA = "dorte@xn--exmple-cua.de"
MARCH = HF_API / "daily_papers_2025-03-11.json"


def test_an_international_domain_is_one_address_in_either_spelling_at_the_cli(run_cli, smtp):
    _, controller = smtp
    env = {
        "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(controller.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
        "NEWSLETTER_WEB_SECRET_KEY": "test-secret-key-0123456789",
        "NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@example.org",
    }
    added = run_cli("subscribers", "add", DORTE, "--topic", "LLM", "--topic", "reasoning", env=env)
    assert added.exit_code == 0, added.output
    twice = run_cli("subscribers", "add", DORTE_IDNA, "--topic", "speech", env=env)
    assert twice.exit_code == 2
    assert f"error: {DORTE} is already in the list (active)" in twice.stderr
    fetched = run_cli("fetch", "--file", str(MARCH), "--date", "2025-03-11", env=env)
    assert fetched.exit_code == 0, fetched.output

    picks = {}
    for spelling in (DORTE, DORTE_IDNA, "Dorte@XN--EXMPLE-CUA.DE", "dorte@EXÄMPLE.de"):
        result = run_cli("picks", "--email", spelling, "--date", "2025-03-11", "--json", env=env)
        assert result.exit_code == 0, result.output
        picks[spelling] = [json.loads(line)["arxiv_id"] for line in result.stdout.splitlines()]
    assert picks[DORTE], "no picks: the lookups below would compare nothing"
    assert all(found == picks[DORTE] for found in picks.values()), picks

    changed = run_cli("subscribers", "set", DORTE_IDNA, "--per-email", "3", env=env)
    assert changed.exit_code == 0, changed.output
    [sub] = listed(run_cli)
    assert (sub["email"], sub["per_email"]) == (DORTE, 3)

    sent = run_cli("send", "--date", "2025-03-11", "--only", DORTE_IDNA, env=env)
    assert sent.exit_code == 0, sent.output
    assert "1 sent" in sent.stdout
    assert [r.recipient for r in smtp[0].received] == [DORTE_IDNA]

    removed = run_cli("subscribers", "remove", DORTE_IDNA, env=env)
    assert removed.stdout == f"subscribers: removed {DORTE}\n"
    assert listed(run_cli) == []


def test_a_web_sign_up_in_the_other_spelling_is_the_known_reader(world, smtp):
    handler, _ = smtp
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    world.store.subscribers.add(normalize_email(DORTE), prefs, "active", FIXED_NOW)
    response = subscribe(world, email=DORTE_IDNA)
    assert response.status_code == 200, response.text
    # Still one reader, her topics not changed by the form; she is mailed a manage link, not a second row.
    [sub] = world.store.subscribers.listed()
    assert (sub.email, sub.topics, sub.status) == (DORTE, ("speech",), "active")
    assert "/manage/" in mail_to(handler, DORTE_IDNA)


@pytest.mark.parametrize(
    "spelling",
    [DORTE, DORTE_IDNA, " Dorte@XN--EXMPLE-CUA.DE ", "dorte@EXÄMPLE.DE", "dorte@exa\u0308mple.de"],
)
def test_either_spelling_of_an_international_domain_finds_the_stored_reader(store, spelling):
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    stored = store.subscribers.add(normalize_email(DORTE), prefs, "active", FIXED_NOW)
    found = store.subscribers.by_email(spelling)
    assert found is not None and found.id == stored.id
    assert store.subscribers.by_email("dorte@exemple.de") is None  # a different domain, not a spelling


def test_stored_keys_and_link_fingerprints_are_those_of_the_release_before():
    # Keys are a unique column and fingerprints are in every link sent: neither may change for an
    # address already stored. Stored addresses are what normalize_email gives, the domain in Unicode.
    for typed, key in (
        ("Ada.Lovelace+news@Example.ORG", "ada.lovelace+news@example.org"),
        (DORTE_IDNA, DORTE),
        ("x@FAß.de", "x@fass.de"),
        ("x@ΑΘΉΝΑ.gr", "x@αθήνα.gr"),
        ("x@пример.рф", "x@пример.рф"),
        ("x@例え.テスト.jp", "x@例え.テスト.jp"),
        ("x@ｅｘäｍｐｌｅ.com", "x@exämple.com"),
    ):
        assert email_key(normalize_email(typed)) == key
    # Computed by the release before (email.strip().casefold()), as minted into links already sent.
    assert fingerprint("Ada.Lovelace+news@Example.ORG") == "7a087c58f3a5a23e"
    assert fingerprint(DORTE) == "921184992e79520f"
    assert fingerprint("x@faß.de") == "2faf526c6ee588a6"


@pytest.mark.parametrize(
    "address",
    ["x@xn--zz.de", "x@xn--.de", "x@ab--c.de", "x@a..b", "x@[127.0.0.1]", "x@" + "xn--a" * 100, "@", "no-at"],
)
def test_a_domain_that_does_not_decode_is_kept_as_it_is(address):
    assert email_key(address) == address.casefold()


ASCII = st.text(alphabet=st.characters(max_codepoint=127))


@given(st.one_of(ASCII, st.builds("{}@{}".format, ASCII, ASCII)))
def test_an_ascii_address_keeps_the_key_it_always_had(text):
    # Nearly every reader: their key, and so the fingerprint in their links, is the casefolded address.
    if "xn--" not in text.casefold():
        assert email_key(text) == text.strip().casefold()


@given(st.text())
def test_no_text_makes_the_key_fail(text):
    assert isinstance(email_key(text), str)
