"""A long-running `newsletter worker` outlasts a database restart; a cron one (--until-done) says so."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from newsletter import app
from newsletter.config import DatabaseSettings, load_settings
from newsletter.deliver.worker import Worker
from tests.conftest import CliRunnerFn
from tests.faults.support import ISSUE, MORNING, fill_store


def wait_for(condition, what: str) -> None:
    """Poll `condition` until it holds; fail, naming `what`, if it never does."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


def test_a_worker_waits_out_a_store_outage_and_then_sends(
    run_cli: CliRunnerFn, tmp_path: Path, caplog
) -> None:
    path = tmp_path / "outage.db"
    url = f"sqlite:///{path}"
    fill_store(url, 3)
    env = {"NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_DELIVERY_OUTBOX": str(tmp_path / "outbox")}
    clock = lambda: MORNING  # noqa: E731
    assert run_cli("send", "--date", ISSUE.isoformat(), "--queue-only", env=env, clock=clock).exit_code == 0
    store = app.open_store(DatabaseSettings(url=url))
    svc = app.build_services(
        load_settings(None, {**env, "NEWSLETTER_WEB_SECRET_KEY": "w" * 20}), store, clock=clock
    )
    store.engine.dispose()  # its connections closed, the whole database is in the one file
    healthy = path.read_bytes()
    path.write_bytes(b"not a database: a server restarting, a disk gone" * 100)

    worker = Worker(svc)
    thread = threading.Thread(target=worker.run, kwargs={"until_done": False, "poll_s": 0.01})
    thread.start()
    try:
        wait_for(lambda: "worker: store unreachable" in caplog.text, "the outage logged")
        # It used to end here: exit 4 on the first error, the day's rows left for someone to notice.
        assert thread.is_alive()
        # The database back: the file as it was, with no journal of the broken one beside it.
        store.engine.dispose()
        for journal in ("-wal", "-shm"):
            Path(f"{path}{journal}").unlink(missing_ok=True)
        # Written over in place, never emptied first: a worker connecting to an empty file would find
        # a new, empty database there (and switch it to WAL), a window no real outage has.
        with path.open("r+b") as file:
            file.write(healthy)
            file.truncate()
        wait_for(lambda: len(list((tmp_path / "outbox").glob("*.eml"))) == 3, "three emails written")
        # The operator who saw the outage logged sees its end logged too.
        assert re.search(r"worker: store reachable again after \d+ failed tr(y|ies); sending on", caplog.text)
    finally:
        svc.stopping.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert "Traceback" not in caplog.text
    store.dispose()


def test_a_worker_until_done_stops_on_a_store_outage(run_cli: CliRunnerFn, tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    fill_store(f"sqlite:///{path}", 1)
    path.write_bytes(b"not a database" * 100)
    result = run_cli("worker", "--until-done", env={"NEWSLETTER_DATABASE_URL": f"sqlite:///{path}"})
    assert result.exit_code == 4
    assert result.stderr.startswith("error: store: DatabaseError:")
