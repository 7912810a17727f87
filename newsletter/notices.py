"""Transactional emails: the sign-up confirmation, "you are already subscribed", and an admin's preview."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

import jinja2

from newsletter.config import Settings
from newsletter.deliver import Accepted, Transport
from newsletter.mime import address_header, ascii_address
from newsletter.models import Subscriber, counted
from newsletter.render import RenderedEmail
from newsletter.tokens import Signer

FOOTERS = {
    "confirm": "If you did not ask for this, ignore this email: nothing will be sent to you.",
    # An active reader keeps getting their digest whatever they do with this email.
    "already": "If you did not ask for this, ignore this email: your subscription stays as it is.",
}


def _message(settings: Settings, to: str, subject: str, text: str, html: str, now: datetime) -> EmailMessage:
    delivery = settings.delivery
    msg = EmailMessage(policy=SMTP)
    msg["From"] = address_header(delivery.from_address, delivery.from_name)
    msg["To"] = address_header(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=delivery.from_address.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def signup_notice(
    env: jinja2.Environment, settings: Settings, signer: Signer, sub: Subscriber, kind: str, now: datetime
) -> EmailMessage:
    """The email a sign-up triggers: a 48-hour confirmation link, or a manage link if already subscribed."""
    base = settings.web.base_url.rstrip("/")
    if kind == "confirm":
        subject = f"Confirm your subscription to {settings.delivery.from_name}"
        # The topics are the sender's own words, and this email goes to an address they merely
        # typed: quoted here, anyone could mail any text to anyone from us. The confirmation page,
        # which only the inbox's owner can open, shows them.
        topics = counted(len(sub.topics), "topic")
        lines = [
            f"Someone, hopefully you, asked to receive trending ML papers on {topics} at this address. "
            f"The link below shows {'it' if len(sub.topics) == 1 else 'them'}.",
            "Confirm within 48 hours with the link below. Until then nothing else is sent.",
        ]
        action = ("Confirm subscription", f"{base}/confirm/{signer.mint('confirm', sub)}")
    else:
        subject = f"You are already subscribed to {settings.delivery.from_name}"
        lines = ["This address already receives our digest. To change your topics or stop, use your page:"]
        action = ("Manage your topics", f"{base}/manage/{signer.mint('manage', sub)}")
    context = {
        "subject": subject,
        "brand": settings.delivery.from_name,
        "lines": lines,
        "action_text": action[0],
        "action_url": action[1],
        "footer": FOOTERS["confirm" if kind == "confirm" else "already"],
    }
    text = env.get_template("email/notice.txt.j2").render(context)
    html = env.get_template("email/notice.html.j2").render(context)
    return _message(settings, sub.email, subject, text, html, now)


def preview_notice(settings: Settings, to: str, rendered: RenderedEmail, now: datetime) -> EmailMessage:
    """An admin's copy of a preview, marked as such in the subject."""
    return _message(settings, to, f"[preview] {rendered.subject}", rendered.text, rendered.html, now)


def deliver_notice(
    open_transport: Callable[[], Transport], settings: Settings, msg: EmailMessage
) -> Accepted:
    """Send one transactional email now, over a transport opened and closed for it.

    Raises SendError or TransportUnusable when it does not go out.
    """
    transport = open_transport()
    try:
        return transport.send(
            ascii_address(settings.delivery.from_address),
            msg["To"].addresses[0].addr_spec,
            msg.as_bytes(),
            str(msg["Message-ID"]),
        )
    finally:
        transport.close()
