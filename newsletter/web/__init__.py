"""The web app: reader pages, admin pages and the admin JSON API, in one ASGI app."""

from __future__ import annotations

from asgi_csrf import asgi_csrf
from fastapi import FastAPI, Response
from fastapi.exceptions import RequestValidationError
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Scope

from newsletter import __version__
from newsletter.render import make_environment, templates_dir
from newsletter.services import Services
from newsletter.tokens import InvalidToken
from newsletter.web import admin, api, assets, errors, public
from newsletter.web.context import RateLimits, WebContext
from newsletter.web.guard import ApiGate, EveryPathBut, RequestGate
from newsletter.web.headers import SecurityHeaders


def create_app(svc: Services) -> ASGIApp:
    """The ASGI app, wrapped in CSRF protection (double-submit signed cookie)."""
    web = svc.settings.web
    signer = svc.signer()
    # Counts in a shared store are kept apart per installation: each has its own secret key.
    limits = RateLimits(web.rate_limits, namespace=signer.derived_key("rate-limits")[:16])
    env = make_environment(templates_dir())
    scripts = assets.Scripts(templates_dir() / "web" / "js")
    env.globals["script_url"] = scripts.url
    ctx = WebContext(svc=svc, env=env, limits=limits)
    app = FastAPI(
        title="newsletter admin API",
        version=__version__,
        # No Swagger UI: it loads its script from a CDN (blank offline). The schema is served as JSON.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.ctx = ctx
    app.add_exception_handler(InvalidToken, errors.token_error_handler(ctx))
    app.add_exception_handler(404, errors.not_found_handler(ctx))
    app.add_exception_handler(405, errors.not_found_handler(ctx))
    app.add_exception_handler(RequestValidationError, api.validation_error)
    app.include_router(public.build_router(ctx))
    app.include_router(assets.build_router(scripts))

    @app.api_route("/favicon.ico", methods=["GET", "HEAD"], include_in_schema=False)
    def favicon() -> Response:
        # Our pages name an inline icon; this answers clients that ask anyway, without a 404 to log.
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=604800"})

    app.include_router(admin.build_router(ctx))
    api_router = api.build_router(ctx)
    app.include_router(api_router)
    app.add_middleware(
        SessionMiddleware,
        secret_key=signer.derived_key("session"),
        session_cookie="newsletter_admin",
        max_age=12 * 3600,
        same_site="strict",
        https_only=web.secure_cookies,
    )

    def exempt(path: str) -> bool:
        # RFC 8058 one-click unsubscribe carries no cookie and no token; the signed URL authorises it.
        # The JSON API authenticates with a bearer token, never with cookies.
        return path.startswith("/unsubscribe/") or path.startswith("/api/")

    def skip_csrf(scope: Scope) -> bool:
        return exempt(str(scope.get("path", "")))

    wrapped: ASGIApp = asgi_csrf(
        app,
        signing_secret=signer.derived_key("csrf"),
        # Checked even when no cookie is sent (asgi-csrf lets those through unless listed here):
        # a cross-site form must not change a reader's topics or confirm anyone.
        always_protect=EveryPathBut(exempt),
        skip_if_scope=skip_csrf,
        cookie_secure=web.secure_cookies,
        cookie_samesite="Strict",
        send_csrf_failed=errors.csrf_failed_sender(ctx),
    )
    # An /api request's token and body size are checked before anything reads its body; outermost of all,
    # every answer (the gates' refusals too) gets the protective headers.
    gated = ApiGate(RequestGate(wrapped, exempt), ctx, api_router.routes)
    return SecurityHeaders(gated, https=web.secure_cookies)
