"""The render stage: each subscriber's HTML and text parts, with premailer run once per issue."""

from newsletter.render.edition import (
    EditionRenderer,
    Links,
    Masthead,
    RenderedEmail,
    preheader_line,
    premailer_inline,
    render_standalone,
    subject_line,
)
from newsletter.render.environment import make_environment, templates_dir

__all__ = [
    "EditionRenderer",
    "Links",
    "Masthead",
    "RenderedEmail",
    "make_environment",
    "preheader_line",
    "premailer_inline",
    "render_standalone",
    "subject_line",
    "templates_dir",
]
