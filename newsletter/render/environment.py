"""The Jinja environment of the email templates: autoescaped HTML, strict undefined, our filters."""

from __future__ import annotations

from pathlib import Path

import jinja2

from newsletter.render import filters


def templates_dir() -> Path:
    """The repository's top-level templates/ folder (email templates live under templates/email/)."""
    return Path(__file__).resolve().parents[2] / "templates"


def make_environment(templates_dir: Path) -> jinja2.Environment:
    """A Jinja environment that escapes HTML templates, fails on undefined names and knows our filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        # "digest.html.j2" ends in ".html.j2", so it is escaped; ".txt.j2" and ".css" are not.
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml", "html.j2", "xml.j2"),
            default_for_string=True,
            default=False,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=filters.finalize,
    )
    env.filters.update(
        http_url=filters.http_url,
        authors=filters.authors_line,
        blurb=filters.blurb,
        oneline=filters.oneline,
        thousands=filters.thousands,
        long_date=filters.long_date,
        why_lines=filters.why_lines,
    )
    return env
