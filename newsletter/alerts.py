"""Operator alerts: an ERROR log line and, when configured, an email to the admin; once per event."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from newsletter.deliver import SendError, TransportUnusable
from newsletter.mime import address_header, ascii_address
from newsletter.services import Services

log = logging.getLogger(__name__)


class Alerter:
    """Raises each distinct alert (by key) once, so a problem that lasts all morning mails once."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def raise_once(self, key: str, subject: str, detail: str) -> bool:
        """Log and mail the alert unless `key` was raised before; True if it was raised now."""
        if not self.svc.store.claim_once(f"alert:{key}", self.svc.clock().isoformat()):
            return False
        log.error("alert: %s: %s", subject, detail)
        admin = self.svc.settings.delivery.admin_email
        if admin:
            self._mail(admin, subject, detail)
        return True

    def _mail(self, admin: str, subject: str, detail: str) -> None:
        delivery = self.svc.settings.delivery
        msg = EmailMessage(policy=SMTP)
        msg["From"] = address_header(delivery.from_address, delivery.from_name)
        msg["To"] = address_header(admin)
        msg["Subject"] = f"[newsletter] {subject}"
        msg["Date"] = format_datetime(self.svc.clock())
        msg["Message-ID"] = make_msgid(domain=delivery.from_address.rpartition("@")[2])
        msg.set_content(f"{detail}\n\nThe scheduler keeps retrying on each tick.\n")
        transport = self.svc.transport()
        try:
            transport.send(
                delivery.from_address, ascii_address(admin), msg.as_bytes(), str(msg["Message-ID"])
            )
        except (SendError, TransportUnusable) as exc:
            log.error("alert: could not mail %s: %s", admin, exc)
        finally:
            transport.close()
