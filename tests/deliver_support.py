"""What the delivery tests share: the day's saved papers, the settings for the loopback relay, and `Mail`,
the CLI with a clock that moves, beside the relay's view of what arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import Message

import pytest

from newsletter.app import open_store
from newsletter.config import DatabaseSettings
from tests.conftest import HF_API

MARCH = HF_API / "daily_papers_2025-03-11.json"
DAY = "2025-03-11"
MORNING = datetime(2025, 3, 11, 7, 0, tzinfo=UTC)
TOPICS = ("LLM", "reasoning", "video generation", "diffusion", "agents")
# The Message-ID's hash of the default List-Id (papers.newsletter.invalid): it names the list.
LIST_KEY = "b9d10eea"


@pytest.fixture
def mail_env(smtp, tmp_path):
    _, controller = smtp
    return {
        "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(controller.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_SMTP_POOL_SIZE": "2",
        "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
        "NEWSLETTER_WEB_SECRET_KEY": "test-secret-key-0123456789",
        "NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@example.org",
    }


class Mail:
    """The CLI, a clock that can move, and the SMTP server's view."""

    def __init__(self, run_cli, env, handler, db_url):
        self.run_cli, self.env, self.handler, self.db_url = run_cli, env, handler, db_url
        self.now = MORNING

    def cli(self, *args, env=None):
        return self.run_cli(*args, env={**self.env, **(env or {})}, clock=lambda: self.now)

    def subscribe(self, email, *topics, extra=()):
        args = ["subscribers", "add", email, "--per-email", "5", *extra]
        for topic in topics or TOPICS:
            args += ["--topic", topic]
        result = self.cli(*args)
        assert result.exit_code == 0, result.output

    def send(self, *args, code=0, env=None):
        result = self.cli("send", "--date", DAY, *args, env=env)
        assert result.exit_code == code, result.output
        return result

    def store(self):
        return open_store(DatabaseSettings(url=self.db_url))

    def ledger(self):
        store = self.store()
        try:
            issue = store.issues.find_issue(MORNING.date())
            assert issue is not None
            return {s.email: store.ledger.deliveries_of(issue, s.id) for s in store.subscribers.listed()}
        finally:
            store.dispose()


@pytest.fixture
def mail(run_cli, mail_env, smtp, db_url):
    m = Mail(run_cli, mail_env, smtp[0], db_url)
    result = m.cli("fetch", "--file", str(MARCH), "--date", DAY)
    assert result.exit_code == 0, result.output
    return m


def html_part(msg: Message) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return part.get_content()
