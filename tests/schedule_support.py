"""What the scheduler tests share: the day of papers they list, the moment they start at, and the settings
for a store and a loopback relay.
"""

from __future__ import annotations

from datetime import UTC, datetime

from newsletter.config import load_settings
from tests.conftest import HF_API

OCT = HF_API / "daily_papers_2025-10-03.json"
START = datetime(2025, 10, 31, 12, 0, tzinfo=UTC)


def settings_for(db_url: str, port: int):
    return load_settings(
        None,
        {
            "NEWSLETTER_DATABASE_URL": db_url,
            "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
            "NEWSLETTER_SMTP_HOST": "127.0.0.1",
            "NEWSLETTER_SMTP_PORT": str(port),
            "NEWSLETTER_SMTP_SECURITY": "none",
            "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
            "NEWSLETTER_WEB_SECRET_KEY": "schedule-test-secret-key",
        },
    )
