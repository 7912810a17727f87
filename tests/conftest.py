"""Shared test fixtures: real SQLite files, the saved Hugging Face pages, and the CLI runner."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from newsletter import app
from newsletter.cli import cli
from newsletter.cli.common import Runtime
from newsletter.config import DatabaseSettings
from newsletter.store import Store

# Registered here, before any test module loads, so --hypothesis-profile=long works for every run.
from tests.faults import hypothesis_profiles  # noqa: F401
from tests.smtp_server import ScriptedController, ScriptedHandler, start_server
from tests.web_support import WebWorld, make_world

FIXTURES = Path(__file__).parent / "fixtures"
HF_API = FIXTURES / "hf" / "api"
HF_HTML = FIXTURES / "hf" / "html"
HF_MALFORMED = FIXTURES / "hf" / "malformed"
PAGE_2024_08_01 = HF_HTML / "papers_2024-08-01.html"
API_2024_08_01 = HF_API / "daily_papers_2024-08-01.json"
FIXED_NOW = datetime(2024, 8, 2, 6, 0, tzinfo=UTC)
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def api_files() -> list[Path]:
    return sorted(HF_API.glob("*.json"))


def load_api(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsletter.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = app.open_store(DatabaseSettings(url=db_url))
    yield opened
    opened.dispose()


@dataclass
class CliRunnerFn:
    """Runs `newsletter ...` in-process with a test's own environment, network and clock."""

    env: dict[str, str]

    def __call__(
        self,
        *args: str,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = lambda: FIXED_NOW,
        env: Mapping[str, str | None] | None = None,
    ) -> Result:
        """`env` adds variables; a None value removes one."""
        merged: dict[str, str] = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        runtime = Runtime(environ=merged, transport=transport, clock=clock)
        return CliRunner().invoke(cli, list(args), obj=runtime, catch_exceptions=False)


@pytest.fixture
def smtp() -> Iterator[tuple[ScriptedHandler, ScriptedController]]:
    """A real SMTP server on loopback, scriptable per recipient; the test sees what it received."""
    handler = ScriptedHandler()
    controller = start_server(handler)
    yield handler, controller
    controller.stop()


@pytest.fixture
def world(db_url: str, smtp: tuple[ScriptedHandler, ScriptedController]) -> Iterator[WebWorld]:
    """The web app over a fresh store, mailing the `smtp` server; a module that needs another overrides it."""
    w = make_world(db_url, smtp[1].port)
    yield w
    w.client.close()
    w.store.dispose()


class MovableClock:
    """A clock a test sets and moves; every component that takes `clock` reads it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def run_cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunnerFn:
    # Run from an empty directory so no stray ./config.toml is picked up.
    monkeypatch.chdir(tmp_path)
    return CliRunnerFn(env={"NEWSLETTER_DATABASE_URL": db_url})


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A schema of its own on the PostgreSQL server of NEWSLETTER_TEST_POSTGRES_URL, dropped afterwards."""
    base = os.environ.get("NEWSLETTER_TEST_POSTGRES_URL", POSTGRES_URL)
    engine = create_engine(base, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {base} ({str(exc).splitlines()[0]}); .ci/run starts it")
    schema = f"t_{secrets.token_hex(6)}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{base}?options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()
