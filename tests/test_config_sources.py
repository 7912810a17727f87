"""[sources] base_url: a mistyped address is a config error (exit 2), not an unreachable source (exit 3)."""

from __future__ import annotations

import pytest

from newsletter.config import ConfigError, load_settings
from tests.conftest import CliRunnerFn


@pytest.mark.parametrize(
    "url",
    ["", "huggingface.co", "ftp://huggingface.co", "https://", "https://hf.example/?x=1", "http://[::1"],
)
def test_a_base_url_that_is_no_web_address_is_a_clear_error(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"NEWSLETTER_SOURCES_BASE_URL": url})
    assert str(info.value).startswith(
        f"sources.base_url: {url!r} is not a web address like https://huggingface.co"
    )


@pytest.mark.parametrize(
    "url", ["https://huggingface.co", "http://127.0.0.1:8080", "https://mirror.example/hf/"]
)
def test_a_mirror_with_or_without_a_path_is_accepted(url: str) -> None:
    assert load_settings(None, {"NEWSLETTER_SOURCES_BASE_URL": url}).sources.base_url == url


def test_fetch_with_a_base_url_missing_its_scheme_is_a_usage_error_not_an_outage(
    run_cli: CliRunnerFn,
) -> None:
    result = run_cli("fetch", env={"NEWSLETTER_SOURCES_BASE_URL": "huggingface.co"})
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("error: sources.base_url: 'huggingface.co' is not a web address")
