"""The database URL a person configured, checked before any engine is built."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from newsletter.config_loader import ConfigError

EXAMPLES = "sqlite:///newsletter.db or postgresql+psycopg://user@host/name"


def database_url(text: str, setting: str = "database.url") -> URL:
    """`text` as a SQLAlchemy URL of a known database, or ConfigError naming `setting`.

    The URL itself is not repeated in the message: it may hold a password.
    """
    try:
        url = make_url(text)
    except ArgumentError:
        raise ConfigError(f"{setting}: not a database URL; use e.g. {EXAMPLES}") from None
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(f"{setting}: unknown database {url.drivername!r}; use e.g. {EXAMPLES}") from None
    return url
