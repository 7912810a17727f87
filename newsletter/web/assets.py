"""The pages' scripts, served as files of their own so the pages' policy can refuse inline script.

A script's address carries a hash of its text (`/js/subscribe.js?v=1a2b3c4d`), so a browser may keep it
for a day and still never runs an old script beside a new page after an upgrade.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

SCRIPT_TYPE = "text/javascript; charset=utf-8"
CACHE = "public, max-age=86400"


class Scripts:
    """The scripts of templates/web/js, read once: their text and the versioned address of each."""

    def __init__(self, folder: Path) -> None:
        self.texts = {path.stem: path.read_bytes() for path in sorted(folder.glob("*.js"))}
        self.versions = {name: hashlib.sha256(text).hexdigest()[:12] for name, text in self.texts.items()}

    def url(self, name: str) -> str:
        """The address a page loads script `name` from; a name with no file is a template error."""
        if name not in self.versions:
            raise KeyError(f"no script templates/web/js/{name}.js")
        return f"/js/{name}.js?v={self.versions[name]}"


def build_router(scripts: Scripts) -> APIRouter:
    """GET /js/<name>.js for each script; any other name under /js/ is a plain 404 (no page to show)."""
    router = APIRouter(include_in_schema=False)

    @router.api_route("/js/{file_name}", methods=["GET", "HEAD"])
    def script(file_name: str) -> Response:
        name = file_name.removesuffix(".js")
        text = scripts.texts.get(name) if file_name.endswith(".js") else None
        if text is None:
            return PlainTextResponse("no such script\n", status_code=404)
        return Response(text, media_type=SCRIPT_TYPE, headers={"Cache-Control": CACHE})

    return router
