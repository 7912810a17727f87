"""[web] host and rate limits: a value that opens the app to the network or locks everyone out is refused."""

from __future__ import annotations

import pytest

from newsletter.config import ConfigError, load_settings


@pytest.mark.parametrize("host", ["", " ", "127.0.0.1 "])
def test_a_listening_host_that_is_no_address_is_refused(host: str) -> None:
    # uvicorn took "" as every interface: `serve` listened on 0.0.0.0 instead of 127.0.0.1.
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"NEWSLETTER_WEB_HOST": host})
    assert str(info.value).startswith(f"web.host: {host!r} is not an address to listen on; use 127.0.0.1")


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::1", "localhost"])
def test_listening_addresses_are_accepted(host: str) -> None:
    assert load_settings(None, {"NEWSLETTER_WEB_HOST": host}).web.host == host


@pytest.mark.parametrize("name", ["LOGIN_LIMIT_IP", "SUBSCRIBE_LIMIT_IP", "SUBSCRIBE_LIMIT_ADDRESS"])
@pytest.mark.parametrize("rate", ["0/hour", "10/hour;0/minute", "0 per day"])
def test_a_rate_limit_that_allows_nothing_is_refused(name: str, rate: str) -> None:
    # "0/hour" answered 429 to every API request and sign-in, the right token and password included.
    with pytest.raises(ConfigError) as info:
        load_settings(None, {f"NEWSLETTER_WEB_{name}": rate})
    assert str(info.value) == f"web.{name.lower()}: allow at least 1 a period, like '10/hour'"


def test_the_documented_rates_are_accepted() -> None:
    web = load_settings(None, {"NEWSLETTER_WEB_LOGIN_LIMIT_IP": "1/day;10/15minutes"}).web
    assert web.login_limit_ip == "1/day;10/15minutes"
