"""[smtp] host: a blank or broken relay name is a config error (exit 2), not a relay that is down (exit 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import ConfigError, load_settings
from tests.conftest import API_2024_08_01, CliRunnerFn


@pytest.mark.parametrize("host", ["", " ", "smtp.example.org ", "smtp example.org"])
def test_a_relay_host_that_is_no_host_name_is_a_clear_error(host: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"NEWSLETTER_SMTP_HOST": host})
    assert str(info.value) == f"smtp.host: {host!r} is not a host name; name the relay, like smtp.example.org"


def test_send_with_an_empty_relay_host_stops_before_queueing_anything(
    run_cli: CliRunnerFn, tmp_path: Path
) -> None:
    assert run_cli("fetch", "--file", str(API_2024_08_01), "--date", "2024-08-01").exit_code == 0
    assert run_cli("subscribers", "add", "ada@example.org", "--topic", "LLM reasoning").exit_code == 0
    blank = {"NEWSLETTER_DELIVERY_TRANSPORT": "smtp", "NEWSLETTER_SMTP_HOST": ""}
    result = run_cli("send", "--date", "2024-08-01", env=blank)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: smtp.host: '' is not a host name; name the relay, like smtp.example.org"
    ]
    status = run_cli("issue", "--date", "2024-08-01")
    assert status.output.startswith("issue 2024-08-01: not started")  # nothing frozen, queued or deferred
