"""Deliverability: real digests, built into the bytes we send, scored by SpamAssassin's local rules."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.digests import CASES, Case, build

SPAMASSASSIN = shutil.which("spamassassin")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        SPAMASSASSIN is None, reason="spamassassin is not installed: run ./scripts/install-debian-packages"
    ),
]
LIMIT = 1.0
# Rules that fired on our digests once and were fixed: they stay out even while the total is under LIMIT.
FIXED = {
    # The hidden preheader was coloured like the page background (templates/email/_inline.css).
    "HTML_FONT_LOW_CONTRAST",
}
# The report's own view of every rule that fired, with full-precision points: RULE=points,RULE=points.
TESTS_HEADER = "add_header all Tests _TESTSSCORES(,)_"


@dataclass(frozen=True)
class Verdict:
    """What SpamAssassin said about one message."""

    score: float
    rules: dict[str, float]
    version: str
    report: str  # the -t report's table of rules, with their descriptions

    def line(self) -> str:
        fired = ", ".join(f"{name} {points:+.3f}" for name, points in sorted(self.rules.items()))
        return f"score {self.score:+.1f}: {fired or 'no rules'}"


def unfolded_header(message: str, name: str) -> str:
    """The value of header `name` in `message`, unfolded; "" when absent."""
    head = message.split("\n\n", 1)[0]
    match = re.search(rf"^{re.escape(name)}:(.*(?:\n[ \t].*)*)", head, re.MULTILINE | re.IGNORECASE)
    return " ".join(match[1].split()) if match else ""


def spamassassin(raw: bytes, home: Path) -> Verdict:
    """Score `raw` with local tests only (-L: no DNS, no network) and read the verdict from the output."""
    assert SPAMASSASSIN is not None
    result = subprocess.run(
        # Bayes is off: an untrained database only adds noise, and autolearning would write to it.
        [SPAMASSASSIN, "-L", "-t", "--cf", TESTS_HEADER, "--cf", "use_bayes 0"],
        input=raw,
        capture_output=True,
        timeout=120,
        check=True,
        # A private HOME, so the user_prefs file SpamAssassin creates stays out of the real one.
        env={**os.environ, "HOME": str(home)},
    )
    out = result.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    status = unfolded_header(out, "X-Spam-Status")
    score = re.search(r"\bscore=(-?\d+(?:\.\d+)?)", status)
    assert score, f"no score in X-Spam-Status: {status!r}\n{result.stderr.decode()}"
    rules = {}
    for item in filter(None, unfolded_header(out, "X-Spam-Tests").split(",")):
        name, _, points = item.partition("=")
        rules[name.strip()] = float(points)
    table = out.rpartition("Content analysis details:")[2]
    return Verdict(
        score=float(score[1]),
        rules=rules,
        version=unfolded_header(out, "X-Spam-Checker-Version"),
        report="Content analysis details:" + table,
    )


def rule_source() -> str:
    """Which rules scored: sa-update's download, or the ones the package ships."""
    updates = sorted(Path("/var/lib/spamassassin").glob("*/updates_spamassassin_org"))
    return f"sa-update rules in {updates[-1]}" if updates else "the packaged rules in /usr/share/spamassassin"


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Verdict]:
    # Each spamassassin run spends about a second loading its rules, so the digests are scored at once.
    home = tmp_path_factory.mktemp("spamassassin-home")
    now = datetime.now(UTC).replace(microsecond=0)  # the Date a receiver sees is close to its clock
    messages = {case.name: build(case, now) for case in CASES}
    with ThreadPoolExecutor(max_workers=len(messages)) as pool:
        futures = {name: pool.submit(spamassassin, raw, home) for name, raw in messages.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_digest_scores_at_most_one_point(
    case: Case, verdicts: dict[str, Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    verdict = verdicts[case.name]
    with capsys.disabled():  # shown in the CI log whatever pytest captures
        print(f"\n[spamassassin] {case.name}: {verdict.line()}  [{verdict.version}; {rule_source()}]")
    # HTML_MESSAGE fires on every HTML email: proof that the rules loaded and this output was read.
    assert "HTML_MESSAGE" in verdict.rules, verdict.report
    # The header's score is rounded to one decimal; the rules' points must add up to it.
    assert abs(sum(verdict.rules.values()) - verdict.score) <= 0.051, verdict.report
    assert verdict.score <= LIMIT, f"{case.name} scored {verdict.score} > {LIMIT}\n{verdict.report}"
    assert not FIXED & verdict.rules.keys(), f"a fixed problem is back\n{verdict.report}"
