"""The world the web fuzz tests share, one per module: the real app with generous rate limits on a real
SQLite store with the 2025-03-11 papers, a real SMTP server, and readers for tokens to name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsletter.models import Subscriber
from newsletter.subscribers import preferences
from tests.conftest import CliRunnerFn
from tests.faults.web.fuzz_support import GENEROUS, MARCH
from tests.smtp_server import ScriptedHandler, start_server
from tests.web_support import NOW, WebWorld, make_world


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[ScriptedHandler, int]]:
    handler = ScriptedHandler()
    controller = start_server(handler)
    yield handler, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, smtp: tuple[ScriptedHandler, int]) -> Iterator[WebWorld]:
    """The real app with generous rate limits, and the 2025-03-11 papers in its store."""
    folder = tmp_path_factory.mktemp("web")
    db_url = f"sqlite:///{folder / 'newsletter.db'}"
    (folder / "config.toml").write_text("", encoding="utf-8")
    run = CliRunnerFn(
        env={"NEWSLETTER_DATABASE_URL": db_url, "NEWSLETTER_CONFIG": str(folder / "config.toml")}
    )
    assert run("fetch", "--file", str(MARCH), "--date", "2025-03-10").exit_code == 0
    w = make_world(db_url, smtp[1], **GENEROUS)
    yield w
    w.client.close()
    w.store.dispose()


@pytest.fixture(scope="module")
def csrf(world: WebWorld) -> str:
    """The double-submit token: the client keeps the cookie, forms post the value."""
    return world.csrf("/")


@pytest.fixture(scope="module")
def reader(world: WebWorld) -> Subscriber:
    prefs = preferences(["speech"], ["survey"], timezone="UTC", hour=7)
    return world.store.subscribers.add("manage-reader@example.org", prefs, "active", NOW)


@pytest.fixture(scope="module")
def target(world: WebWorld) -> Subscriber:
    """The reader that valid fuzzed tokens name; put back to active after each example."""
    prefs = preferences(["robotics"], timezone="UTC", hour=7)
    return world.store.subscribers.add("token-target@example.org", prefs, "active", NOW)
