"""Sign-up and login limits counted in a shared Redis, so several web processes keep one budget.

Each test starts its own redis-server on a free loopback port (no data on disk), so no count is
left over from another run, and a test can stop it to see what a failing store does.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter import app
from newsletter.config import ConfigError, DatabaseSettings
from newsletter.web.context import RateLimits
from tests.smtp_server import free_port
from tests.test_web import subscribe
from tests.web_support import make_world


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed: run ./scripts/install-debian-packages")
    redis = pytest.importorskip("redis", reason="the redis client is not installed: ./scripts/bootstrap dev")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen([*args, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    deadline = time.monotonic() + 15
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"redis-server on port {port} did not start")
            time.sleep(0.05)
    yield url, server
    server.terminate()
    server.wait(10)


def test_two_web_processes_share_one_signup_budget_through_redis(db_url, smtp, redis_server):
    url, _ = redis_server
    one = make_world(db_url, smtp[1].port, NEWSLETTER_WEB_RATE_LIMITS=url)
    two = make_world(db_url, smtp[1].port, NEWSLETTER_WEB_RATE_LIMITS=url)
    # 3 per address per hour, counted once across both apps.
    codes = [subscribe(world, email="bomb@example.org").status_code for world in (one, two, one, two)]
    assert codes == [200, 200, 200, 429]
    # With the default, each process counts alone: the same four tries all pass.
    three, four = make_world(db_url, smtp[1].port), make_world(db_url, smtp[1].port)
    codes = [subscribe(world, email="calm@example.org").status_code for world in (three, four, three, four)]
    assert codes == [200, 200, 200, 200]
    for world in (one, two, three, four):
        world.client.close()
        world.store.dispose()


def test_installations_sharing_a_redis_keep_their_counts_apart(redis_server):
    url, _ = redis_server
    ours, theirs = RateLimits(url, namespace="ours"), RateLimits(url, namespace="theirs")
    assert [ours.allow("2/hour", "login-ip", "192.0.2.7") for _ in range(3)] == [True, True, False]
    assert theirs.allow("2/hour", "login-ip", "192.0.2.7")


def test_an_unreachable_store_is_a_clear_error_at_start(db_url, smtp):
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    with pytest.raises(ConfigError) as info:
        make_world(db_url, smtp[1].port, NEWSLETTER_WEB_RATE_LIMITS=url)
    assert str(info.value).startswith("web.rate_limits: cannot reach redis://:***@127.0.0.1:")
    assert "hunter2" not in str(info.value)


def test_a_store_whose_client_is_not_installed_says_how_to_install_it():
    # The dev install has Redis's client, not MongoDB's: the error named only the missing package.
    with pytest.raises(ConfigError) as info:
        RateLimits(f"mongodb://127.0.0.1:{free_port()}/limits")
    assert str(info.value) == (
        "web.rate_limits: mongodb:// needs the pymongo package; install it with "
        ".venv/bin/pip install 'limits[mongodb]'"
    )


@pytest.mark.parametrize("command", ["run", "serve"])
def test_the_service_will_not_start_without_its_rate_limit_store(run_cli, db_url, command):
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    env = {"NEWSLETTER_WEB_RATE_LIMITS": url, "NEWSLETTER_WEB_SECRET_KEY": "s" * 32}
    result = run_cli(command, env=env)
    assert result.exit_code == 2
    assert "\nerror: web.rate_limits: cannot reach redis://:***@127.0.0.1:" in result.stderr
    assert "hunter2" not in result.stderr
    # The scheduler never started: no fetch was even tried.
    store = app.open_store(DatabaseSettings(url=db_url))
    assert store.papers.recent_fetches() == []
    store.dispose()


def test_a_store_that_fails_later_refuses_logs_and_fails_the_health_check(db_url, smtp, redis_server, caplog):
    url, server = redis_server
    world = make_world(db_url, smtp[1].port, NEWSLETTER_WEB_RATE_LIMITS=url)
    assert subscribe(world, email="first@example.org").status_code == 200
    assert world.client.get("/healthz").json()["status"] == "ok"
    server.terminate()
    server.wait(10)
    with caplog.at_level(logging.ERROR, logger="newsletter.web.context"):
        response = subscribe(world, email="second@example.org")
    # Refused rather than let through uncounted, and nothing stored for the refused address.
    assert response.status_code == 429
    assert world.store.subscribers.by_email("second@example.org") is None
    assert f"rate limit store {url} failed" in caplog.text
    health = world.client.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"status": "error", "rate_limits": "store unreachable"}
    world.client.close()
    world.store.dispose()
