"""The Message-ID a row is queued with is the one it goes out with, across retries and upgrades."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from newsletter.store.schema import deliveries
from tests import test_deliver
from tests.test_deliver import DAY, LIST_KEY, Mail

# The fixtures of the module that owns them: a CLI, a loopback relay and the day's papers.
mail_env = test_deliver.mail_env
mail = test_deliver.mail


def test_a_row_queued_before_the_id_named_its_list_keeps_its_id(mail: Mail, tmp_path: Path) -> None:
    mail.subscribe("ada@example.org")
    mail.subscribe("bob@example.org")
    assert mail.cli("send", "--date", DAY, "--queue-only").exit_code == 0
    rows = mail.ledger()
    assert rows["bob@example.org"][0].message_id == f"<digest.{DAY}.2.{LIST_KEY}@example.org>"
    # Ada's row as an earlier version queued it, without the list's hash.
    old = f"<digest.{DAY}.1@example.org>"
    store = mail.store()
    try:
        with store.write() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == rows["ada@example.org"][0].id)
                .values(message_id=old)
            )
    finally:
        store.dispose()
    # What `preview --out` writes is the message the row will carry, its stored Message-ID included.
    eml = tmp_path / "ada.eml"
    assert mail.cli("preview", "--email", "ada@example.org", "--date", DAY, "--out", str(eml)).exit_code == 0
    assert f"Message-ID: {old}" in eml.read_text()
    mail.handler.script["ada@example.org"] = ["451"]
    assert "1 sent, 1 deferred" in mail.send().stdout
    mail.now += timedelta(minutes=2)
    assert "1 sent, 0 deferred" in mail.send().stdout
    got = {item.recipient: item.message_id for item in mail.handler.received}
    assert got == {"ada@example.org": old, "bob@example.org": f"<digest.{DAY}.2.{LIST_KEY}@example.org>"}
