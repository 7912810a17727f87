"""Which redirects a source may follow: never from https to http, never to another site."""

from __future__ import annotations

import httpx


class RefusedRedirect(httpx.RequestError):
    """A redirect the client will not follow; says from where, to where and why."""


def redirect_target(response: httpx.Response) -> httpx.URL | None:
    """Where a redirect response leads, resolved as httpx resolves it; None if it is no redirect.

    This mirrors httpx's own `Client._redirect_url`, so the URL checked is the URL it would fetch;
    a Location that is no URL at all is left to httpx, which refuses it itself.
    """
    if not response.has_redirect_location:
        return None
    source = response.request.url
    try:
        target = httpx.URL(response.headers["Location"])
    except httpx.InvalidURL:
        return None
    if target.scheme and not target.host:
        target = target.copy_with(host=source.host)
    if target.is_relative_url:
        target = source.join(target)
    return target


def site_of(host: str) -> str:
    """The host a redirect may not leave: lower case, without a trailing dot or a leading `www.`.

    `www.` is the one subdomain treated as the same site: a redirect between `example.org` and
    `www.example.org` is how a site settles on its canonical name, both are by convention the same
    owner's, and refusing it would break a base_url written with (or without) `www.`. Any other
    subdomain may be someone else's (user content is often served from subdomains), so it counts
    as another host. TLS is still verified for whichever name is fetched.
    """
    host = host.lower().rstrip(".")
    return host.removeprefix("www.")


def refuse_unsafe_redirect(response: httpx.Response) -> None:
    """Raise RefusedRedirect for a redirect that leaves https for http or leads to another host.

    Used as a response event hook, which httpx runs on every hop of a redirect chain before
    following it, so each hop is checked against the request that received it. Same-host
    redirects and http-to-https upgrades pass.
    """
    target = redirect_target(response)
    if target is None:
        return
    source = response.request.url
    reason = None
    if source.scheme == "https" and target.scheme != "https":
        reason = "leaves https"
    elif site_of(target.host) != site_of(source.host):
        reason = "another host"
    if reason is not None:
        raise RefusedRedirect(
            f"refused redirect from {source} to {target} ({reason})", request=response.request
        )
