"""[delivery] values that go into every email's headers: refused at start-up, never half-sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import ConfigError, load_settings
from tests.conftest import API_2024_08_01, CliRunnerFn


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        # Only an "@" was checked: "a@" went out as From: <a>, and the Message-ID's domain as localhost.
        ("NEWSLETTER_DELIVERY_FROM_ADDRESS", "papers@", "delivery.from_address: must be an email address"),
        ("NEWSLETTER_DELIVERY_FROM_ADDRESS", "a b@c d", "delivery.from_address: must be an email address"),
        ("NEWSLETTER_DELIVERY_FROM_ADDRESS", "papers@example.org ", "delivery.from_address: must be"),
        ("NEWSLETTER_DELIVERY_FROM_ADDRESS", "Papers <p@example.org>", "delivery.from_address: must be"),
        # reply_to was not checked at all: "ops" went out as Reply-To: @ops.
        ("NEWSLETTER_DELIVERY_REPLY_TO", "ops", "delivery.reply_to: must be an email address"),
        ("NEWSLETTER_DELIVERY_REPLY_TO", "a@example.org\nBcc: b@example.org", "delivery.reply_to: must be"),
        ("NEWSLETTER_DELIVERY_ADMIN_EMAIL", "ops@", "delivery.admin_email: must be an email address"),
        ("NEWSLETTER_DELIVERY_FROM_NAME", "Papers\r\nBcc: b@example.org", "delivery.from_name: must not"),
        # A line break in the List-Id started a header of its own in every email.
        ("NEWSLETTER_DELIVERY_LIST_ID", "papers\nBcc: b@example.org", "delivery.list_id: 'papers\\nBcc"),
        ("NEWSLETTER_DELIVERY_LIST_ID", "", "delivery.list_id: '' is not a List-Id"),
        ("NEWSLETTER_DELIVERY_LIST_ID", "papers list", "delivery.list_id: 'papers list' is not a List-Id"),
    ],
)
def test_a_header_value_that_would_break_the_emails_is_a_clear_error(
    variable: str, value: str, said: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, {variable: value})
    assert str(info.value).startswith(said)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NEWSLETTER_DELIVERY_FROM_ADDRESS", "papers@example.org"),
        ("NEWSLETTER_DELIVERY_FROM_ADDRESS", "papers@bücher.de"),
        ("NEWSLETTER_DELIVERY_FROM_ADDRESS", "papers@localhost"),
        ("NEWSLETTER_DELIVERY_REPLY_TO", "editor@example.org"),
        ("NEWSLETTER_DELIVERY_REPLY_TO", ""),
        ("NEWSLETTER_DELIVERY_ADMIN_EMAIL", "root@localhost"),
        ("NEWSLETTER_DELIVERY_FROM_NAME", "Les papiers d'Ada, « tendance »"),
        ("NEWSLETTER_DELIVERY_FROM_NAME", ""),
        ("NEWSLETTER_DELIVERY_LIST_ID", "papers.example.org"),
    ],
)
def test_ordinary_header_values_are_accepted(variable: str, value: str) -> None:
    delivery = load_settings(None, {variable: value}).delivery
    assert value in (
        delivery.from_address,
        delivery.reply_to,
        delivery.admin_email,
        delivery.from_name,
        delivery.list_id,
    )


def test_a_line_break_in_the_sender_name_stops_preview_with_one_line_not_a_traceback(
    run_cli: CliRunnerFn, tmp_path: Path
) -> None:
    assert run_cli("fetch", "--file", str(API_2024_08_01), "--date", "2024-08-01").exit_code == 0
    assert run_cli("subscribers", "add", "ada@example.org", "--topic", "LLM reasoning").exit_code == 0
    broken = {"NEWSLETTER_DELIVERY_FROM_NAME": "Papers\nBcc: b@example.org"}
    whole = ["--out", str(tmp_path / "ada.eml")]  # the whole message, headers and all
    result = run_cli("preview", "--email", "ada@example.org", "--date", "2024-08-01", *whole, env=broken)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: delivery.from_name: must not contain line breaks or other control characters"
    ]
    sent = run_cli(
        "send", "--date", "2024-08-01", env={"NEWSLETTER_DELIVERY_LIST_ID": "papers\nBcc: b@example.org"}
    )
    assert sent.exit_code == 2 and "Traceback" not in sent.output
    assert not (tmp_path / "outbox").exists() and not (tmp_path / "ada.eml").exists()  # nothing was sent
