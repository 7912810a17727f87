"""The render stage: each subscriber's HTML and text parts, with premailer run once per issue."""

from newsletter.render.edition import (
    EditionRenderer,
    Links,
    Masthead,
    RenderedEmail,
    premailer_inline,
    render_standalone,
)
from newsletter.render.environment import make_environment, templates_dir
from newsletter.render.lines import preheader_line, subject_line

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
