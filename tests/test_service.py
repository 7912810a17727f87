"""`newsletter run` and `serve` as an operator starts and stops them: a real process, a real port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import pytest

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.schedule import LEASE
from tests.faults.support import ISSUE, cli, delivery_counts, fill_store, ledger_counts, smtp_env
from tests.smtp_server import free_port

# No network: the sources point at a closed port and no fetch time is set.
QUIET = {
    "NEWSLETTER_WEB_SECRET_KEY": "s" * 32,
    "NEWSLETTER_SOURCES_BASE_URL": "http://127.0.0.1:1",
    "NEWSLETTER_SCHEDULE_FETCH_TIMES": "",
}


def lease_is_free(db_url: str) -> bool:
    """Whether another scheduler could take the lease right now."""
    store = app.open_store(DatabaseSettings(url=db_url))
    try:
        return store.leases.acquire(LEASE, "another-process", datetime.now(UTC), 60)
    finally:
        store.dispose()


def _started(db_url: str, tmp_path, command: str) -> subprocess.Popen[str]:
    """`newsletter <command>` in a process of its own, once its web app answers."""
    port = free_port()
    env = {**os.environ, **QUIET, "NEWSLETTER_DATABASE_URL": db_url, "NEWSLETTER_WEB_PORT": str(port)}
    args = [sys.executable, "-m", "newsletter", command]
    process = subprocess.Popen(args, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    # Wait until the app answers (a startup wait, not a timing assertion).
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[1]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.1)


def test_a_second_scheduler_says_it_stands_by(db_url, tmp_path):
    # README: "the lease lets only one act"; the operator who starts a second one is told so.
    assert lease_is_free(db_url)  # now held by "another-process", for 60 s
    process = _started(db_url, tmp_path, "run")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    said = "run: another scheduler holds the lease (another-process): this one stands by and takes over"
    assert said in stderr and "scheduler started" not in stderr and "tick:" not in stderr
    store = app.open_store(DatabaseSettings(url=db_url))
    assert store.leases.holder(LEASE, datetime.now(UTC)) == "another-process"  # left alone
    store.dispose()


@pytest.mark.parametrize("command", ["run", "serve"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_service_stops_cleanly_on_a_signal_and_hands_the_lease_over_at_once(
    db_url, tmp_path, command, stop
):
    process = _started(db_url, tmp_path, command)
    try:
        if command == "run":
            assert not lease_is_free(db_url)  # the running scheduler holds it
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    lines = stderr.splitlines()
    assert lines[-1] == f"{command}: stopped" and "Traceback" not in stderr
    if command == "run":
        assert "run: stopping; waiting for running jobs" in lines
        # Released, not left to expire: a restarted or second scheduler takes over at once.
        assert lease_is_free(db_url)


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_port_already_taken_is_a_clear_error_before_anything_starts(run_cli, db_url, command):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli(command, "--port", str(port), env=QUIET)
    assert result.exit_code == 2
    said = f"error: web: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert result.stderr.splitlines()[-1] == said
    # The scheduler never started: it took no lease and ran no tick.
    assert "scheduler started" not in result.stderr and "tick:" not in result.stderr
    assert lease_is_free(db_url)


@pytest.mark.parametrize(
    ("command", "code", "said"),
    [
        (["worker"], 0, "worker "),
        (["send", "--date", ISSUE.isoformat()], 5, "send: "),
        # Its fetch finds no source (they point at a closed port): 3 says so; the tick still sends.
        (["run", "--once"], 3, "run: "),
    ],
    ids=["worker", "send", "run-once"],
)
def test_a_sender_stopped_by_sigterm_finishes_its_messages_in_flight_and_hands_the_rest_back(
    db_url, smtp, command, code, said
):
    handler, controller = smtp
    readers = 120
    fill_store(db_url, readers)
    handler.slow_s = 0.05  # every message takes a moment, so the sender is mid-issue when stopped
    handler.script.update({f"r{i}@example.org": ["slow"] for i in range(readers)})
    # A long lease: a row left "sending" would block the restart below for five minutes.
    env = smtp_env(db_url, controller.port, NEWSLETTER_SMTP_POOL_SIZE="2", NEWSLETTER_DELIVERY_LEASE_S="300")
    queued = cli(["send", "--date", ISSUE.isoformat(), "--queue-only"], env)
    assert queued.wait(timeout=120) == 0, queued.communicate()[1].decode()

    sender = cli(command, {**env, **QUIET, "NEWSLETTER_LOG_LEVEL": "INFO"})
    try:
        deadline = time.monotonic() + 60
        while len(handler.received) < 10:
            assert sender.poll() is None, sender.communicate()[1].decode()
            assert time.monotonic() < deadline, "nothing was sent"
            time.sleep(0.02)
        sender.send_signal(signal.SIGTERM)
        stdout, stderr = sender.communicate(timeout=60)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.communicate()
    text = stderr.decode()
    assert sender.returncode == code, text
    assert f"{said}" in text and "SIGTERM; finishing the messages in flight" in text
    assert "stopped: the process is stopping; the rest waits for the next run" in stdout.decode() + text
    assert "Traceback" not in text
    counts = ledger_counts(db_url)
    # Every accepted message is recorded; nothing is left claimed.
    assert counts["sending"] == 0
    assert counts["sent"] == len(handler.received) < readers
    assert counts["queued"] == readers - counts["sent"]

    # The rest goes out at once on the next run, not after the 300-second lease, each exactly once.
    again = cli(["worker", "--until-done"], env)
    assert again.wait(timeout=120) == 0, again.communicate()[1].decode()
    assert ledger_counts(db_url)["sent"] == readers
    assert delivery_counts(handler.received, readers) == (0, 0)  # (lost, duplicated)


def test_run_once_fetches_once_though_the_fetch_failed(run_cli):
    # Its fetch is the one the tick would catch up on (06:00 has just passed): not tried twice.
    asked: list[str] = []

    def unavailable(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(503)

    env = {"NEWSLETTER_SOURCES_RETRIES": "0", "NEWSLETTER_WEB_SECRET_KEY": "s" * 32}
    result = run_cli("run", "--once", transport=httpx.MockTransport(unavailable), env=env)
    assert result.exit_code == 3, result.output
    assert asked == ["/papers/trending"]
    assert result.stderr.count("source unreachable: hf-trending") == 1
