"""What the public health check tells anyone who asks when the database fails: that it failed, no more."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.web_support import make_world

pytestmark = [pytest.mark.postgres]


def test_a_failing_database_is_reported_without_its_host_port_or_role(
    pg_url: str, smtp: tuple[object, Any], caplog: pytest.LogCaptureFixture
) -> None:
    url = make_url(pg_url)
    admin = create_engine(url.set(query={}), isolation_level="AUTOCOMMIT")
    role = f"health_{secrets.token_hex(4)}"
    schema = url.query["options"].rpartition("=")[2]
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"GRANT ALL ON SCHEMA {schema} TO {role}"))
    world = make_world(url.set(username=role).render_as_string(hide_password=False), smtp[1].port)
    try:
        assert world.client.get("/healthz").status_code == 200
        # The database refuses the app's role from now on: a new connection fails, naming its server.
        with admin.connect() as conn:
            conn.execute(text(f"ALTER ROLE {role} NOLOGIN"))
            conn.execute(
                text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")
            )
        with caplog.at_level(logging.ERROR):
            health = world.client.get("/healthz")
        assert health.status_code == 503
        assert health.json() == {"status": "error", "database": "unreachable"}
        for detail in (role, "127.0.0.1", "5432"):
            assert detail not in health.text
        # The operator still learns why, from the log.
        assert role in caplog.text and "health check" in caplog.text
    finally:
        world.store.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()
