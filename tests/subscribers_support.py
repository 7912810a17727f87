"""What the subscriber tests share: the list as `subscribers list --json` prints it."""

from __future__ import annotations

import json


def listed(run_cli) -> list[dict]:
    result = run_cli("subscribers", "list", "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]
