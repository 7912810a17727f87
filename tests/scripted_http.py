"""A scriptable network for the sources: each path answers from a list of steps, the last repeating."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class ScriptedHttp:
    """Serve `routes[path]` step by step; an unknown path answers 404. Records every request."""

    routes: dict[str, list[Step]]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        steps = self.routes.get(request.url.path)
        if not steps:
            return httpx.Response(404, text="not found")
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        return step(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.url.path == path)


def ok(text: str, content_type: str = "text/html; charset=utf-8") -> httpx.Response:
    return httpx.Response(200, text=text, headers={"content-type": content_type})


def status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(code, text=f"status {code}", headers=headers)
