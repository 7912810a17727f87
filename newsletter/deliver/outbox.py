"""The outbox transport: each message becomes an .eml file, so a new user sees real emails."""

from __future__ import annotations

import os
import re
from pathlib import Path

from newsletter.deliver import Accepted, TransportUnusable

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OutboxTransport:
    """Writes `<folder>/<message-id>.eml`; a retry of the same message overwrites its own file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, message_id: str) -> Path:
        """Where a message with this Message-ID is written."""
        return self.folder / f"{_UNSAFE.sub('_', message_id.strip('<>'))}.eml"

    def send(self, sender: str, recipient: str, message: bytes, message_id: str) -> Accepted:
        path = self.path_for(message_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves half a message behind.
            partial = path.with_suffix(".eml.partial")
            partial.write_bytes(message)
            os.replace(partial, path)
        except OSError as exc:
            # A folder that cannot be written fails every message alike: like a relay refusing TLS.
            raise TransportUnusable(f"cannot write {path}: {exc.strerror or exc}") from None
        return Accepted(f"250 written to {path}")

    def close(self) -> None:
        pass
