"""Bounce reports (RFC 3464 DSNs) built the way MTAs build them, imported from an mbox and the API."""

from __future__ import annotations

import mailbox
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTPUTF8
from email.utils import format_datetime

import pytest

from newsletter.subscribers import normalize_email, preferences
from tests.smtp_server import ScriptedHandler, start_server
from tests.web_support import ADMIN_TOKEN, NOW, make_world


def dsn(
    recipient: str, action: str, status: str, diagnostic: str, address_type: str = "rfc822"
) -> MIMEMultipart:
    """A delivery status notification as Postfix writes one: human text, the status, the headers.

    `address_type` "utf-8" is RFC 6533's, for an address written in Unicode.
    """
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.example.net (Mail Delivery System)"
    report["To"] = "papers@example.org"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = format_datetime(NOW)
    report["Message-ID"] = f"<bounce.{recipient}@mx.example.net>"
    report.attach(
        MIMEText(f"I'm sorry to have to inform you that your message could not be delivered to {recipient}.")
    )
    status_part = Message()
    status_part.set_type("message/delivery-status")
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; mx.example.net"
    per_message["Arrival-Date"] = format_datetime(NOW)
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"{address_type}; {recipient}"
    per_recipient["Original-Recipient"] = f"{address_type};{recipient}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Remote-MTA"] = "dns; mail.example.org"
    per_recipient["Diagnostic-Code"] = f"smtp; {diagnostic}"
    status_part.set_payload([per_message, per_recipient])
    report.attach(status_part)
    headers = Message()
    headers.set_type("text/rfc822-headers")
    headers.set_payload(
        f"From: papers@example.org\nTo: {recipient}\nMessage-ID: <digest.2025-03-11.1@example.org>\n"
    )
    report.attach(headers)
    return report


def vacation_reply() -> MIMEText:
    reply = MIMEText("I am away until Monday.")
    reply["From"] = "ada@example.org"
    reply["Subject"] = "Out of office"
    return reply


@pytest.fixture
def world(db_url):
    handler = ScriptedHandler()
    controller = start_server(handler)
    w = make_world(db_url, controller.port)
    for email in ("gone@example.org", "full@example.org", "fine@example.org"):
        w.store.subscribers.add(email, preferences(["speech"], timezone="UTC", hour=7), "active", NOW)
    yield w
    w.client.close()
    w.store.dispose()
    controller.stop()


def write_mbox(path, messages) -> None:
    box = mailbox.mbox(path)
    for message in messages:
        box.add(message)
    box.close()


def test_import_suppresses_hard_bounces_only(world, run_cli, tmp_path):
    path = tmp_path / "bounces.mbox"
    write_mbox(
        path,
        [
            dsn("gone@example.org", "failed", "5.1.1", "550 5.1.1 <gone@example.org>: User unknown"),
            dsn("full@example.org", "delayed", "4.2.2", "452 4.2.2 Mailbox full"),
            dsn("stranger@example.org", "failed", "5.1.1", "550 5.1.1 User unknown"),
            vacation_reply(),
            # A report of success (a relay's delivery notice): neither hard nor soft.
            dsn("fine@example.org", "delivered", "2.0.0", "250 2.0.0 Ok: queued"),
        ],
    )
    result = run_cli("bounces", "import", str(path))
    assert result.exit_code == 0, result.output
    assert (
        "5 messages, 1 not a delivery report, 2 hard, 1 soft, 1 address suppressed, 1 not a subscriber"
        in (result.stdout)
    )
    status = {s.email: s.status for s in world.store.subscribers.listed()}
    assert status == {
        "gone@example.org": "bounced",
        "full@example.org": "active",
        "fine@example.org": "active",
    }
    # Importing the same file again changes nothing.
    again = run_cli("bounces", "import", str(path))
    assert "0 addresses suppressed" in again.stdout


def test_a_full_mailbox_or_a_policy_refusal_is_soft_and_keeps_the_reader(world, run_cli, tmp_path):
    path = tmp_path / "bounces.mbox"
    write_mbox(
        path,
        [
            dsn("full@example.org", "failed", "5.2.2", "552 5.2.2 Mailbox full"),
            dsn("fine@example.org", "failed", "5.7.1", "550 5.7.1 Message refused as spam"),
            dsn("gone@example.org", "failed", "5.2.1", "550 5.2.1 Mailbox disabled"),
        ],
    )
    result = run_cli("bounces", "import", str(path))
    assert "3 messages, 0 not delivery reports, 1 hard, 2 soft, 1 address suppressed" in result.stdout
    status = {s.email: s.status for s in world.store.subscribers.listed()}
    assert status == {
        "gone@example.org": "bounced",
        "full@example.org": "active",
        "fine@example.org": "active",
    }


def test_missing_mbox_is_a_usage_error(run_cli, tmp_path):
    result = run_cli("bounces", "import", str(tmp_path / "none.mbox"))
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_one_saved_bounce_email_imports_and_a_non_email_file_is_refused(world, run_cli, tmp_path):
    saved = tmp_path / "bounce.eml"
    saved.write_bytes(dsn("gone@example.org", "failed", "5.1.1", "550 5.1.1 User unknown").as_bytes())
    result = run_cli("bounces", "import", str(saved))
    assert result.exit_code == 0, result.output
    assert "1 message, 0 not delivery reports, 1 hard, 0 soft, 1 address suppressed" in result.stdout
    assert world.store.subscribers.by_email("gone@example.org").status == "bounced"
    # A file that is neither an mbox nor an email is refused, not read as "0 messages".
    wrong = tmp_path / "subscribers.csv"
    wrong.write_text("email,topics\nfull@example.org,robotics\n")
    refused = run_cli("bounces", "import", str(wrong))
    assert refused.exit_code == 2 and "neither an mbox file nor an email message" in refused.stderr
    assert world.store.subscribers.by_email("full@example.org").status == "active"
    # An empty mailbox is fine: nothing to do.
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"")
    assert "bounces: 0 messages" in run_cli("bounces", "import", str(empty)).stdout


def test_api_accepts_one_bounce(world):
    raw = dsn("gone@example.org", "failed", "5.1.1", "550 5.1.1 User unknown").as_bytes()
    refused = world.client.post("/api/bounces", content=raw, headers={"Content-Type": "message/rfc822"})
    assert refused.status_code == 401
    response = world.client.post(
        "/api/bounces",
        content=raw,
        headers={"Content-Type": "message/rfc822", "Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["suppressed"] == ["gone@example.org"]
    assert world.store.subscribers.by_email("gone@example.org").status == "bounced"


def test_api_reads_every_message_of_an_uploaded_mbox(world, tmp_path):
    # A soft bounce first, then a hard one: the hard bounce must not be lost behind a 200.
    path = tmp_path / "two.mbox"
    write_mbox(
        path,
        [
            dsn("full@example.org", "delayed", "4.2.2", "452 4.2.2 Mailbox full"),
            dsn("gone@example.org", "failed", "5.1.1", "550 5.1.1 User unknown"),
        ],
    )
    response = world.client.post(
        "/api/bounces",
        content=path.read_bytes(),
        headers={"Content-Type": "message/rfc822", "Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["line"].startswith("bounces: 2 messages")
    assert response.json()["suppressed"] == ["gone@example.org"]
    assert world.store.subscribers.by_email("gone@example.org").status == "bounced"
    assert world.store.subscribers.by_email("full@example.org").status == "active"


def test_import_help_states_the_hard_bounce_rule(run_cli):
    help_text = " ".join(run_cli("bounces", "import", "--help").stdout.split())
    assert "A 5.1.x (bad address) or 5.2.1 (mailbox disabled) failure suppresses the address" in help_text
    assert "5.x.x" not in help_text


# Dorte's domain in its two spellings: Unicode, as she is stored, and IDNA, as her mail is addressed.
DORTE = "dorte@exämple.de"
DORTE_IDNA = "dorte@xn--exmple-cua.de"


@pytest.mark.parametrize(
    ("address_type", "recipient"),
    [
        ("rfc822", DORTE_IDNA),  # what an MTA reports for the To: we send
        ("rfc822", "Dorte@XN--EXMPLE-CUA.DE"),
        ("utf-8", DORTE),  # RFC 6533, raw UTF-8
        ("utf-8", "dorte@ex\\x{E4}mple.de"),  # RFC 6533, escaped
    ],
)
def test_a_hard_bounce_suppresses_an_international_address_in_either_spelling(
    world, run_cli, tmp_path, address_type, recipient
):
    world.store.subscribers.add(
        normalize_email(DORTE), preferences(["speech"], timezone="UTC", hour=7), "active", NOW
    )
    bounce = dsn(recipient, "failed", "5.2.1", "550 5.2.1 Mailbox disabled", address_type=address_type)
    path = tmp_path / "bounces.mbox"
    # As the MTA's bytes: a Unicode address is raw UTF-8 in the file.
    write_mbox(path, [bounce.as_string(policy=SMTPUTF8).encode()])
    result = run_cli("bounces", "import", str(path))
    assert result.exit_code == 0, result.output
    assert (
        "bounces: 1 message, 0 not delivery reports, 1 hard, 0 soft, 1 address suppressed, "
        "0 not subscribers" in result.stdout
    )
    status = {s.email: s.status for s in world.store.subscribers.listed()}
    assert status[DORTE] == "bounced"
    assert status["gone@example.org"] == "active"


def test_the_api_suppresses_an_international_address_reported_in_idna(world):
    world.store.subscribers.add(
        normalize_email(DORTE), preferences(["speech"], timezone="UTC", hour=7), "active", NOW
    )
    raw = dsn(DORTE_IDNA, "failed", "5.1.1", "550 5.1.1 User unknown").as_bytes()
    response = world.client.post(
        "/api/bounces",
        content=raw,
        headers={"Content-Type": "message/rfc822", "Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["suppressed"] == [DORTE]
    assert world.store.subscribers.by_email(DORTE).status == "bounced"


def test_a_bounced_confirmation_to_an_unsubscribed_reader_signing_up_again_suppresses_the_address(
    world, run_cli, tmp_path
):
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    for email in ("back@example.org", "left@example.org"):
        sub = world.store.subscribers.add(email, prefs, "active", NOW)
        world.store.subscribers.set_status(sub.id, "unsubscribed", NOW)
    # back@ signs up again on the web: a confirmation link is mailed, and the request waits for it.
    form = {"email": "back@example.org", "topics": "robotics", "timezone": "UTC", "hour": "7"}
    posted = world.client.post(
        "/subscribe", data={**form, "csrftoken": world.csrf("/")}, follow_redirects=False
    )
    assert posted.status_code == 303, posted.text
    waiting = world.store.subscribers.by_email("back@example.org")
    assert waiting is not None and waiting.request is not None
    path = tmp_path / "bounces.mbox"
    write_mbox(
        path,
        [
            dsn("back@example.org", "failed", "5.1.1", "550 5.1.1 User unknown"),
            # A late report on an old digest to a reader who left and asked for nothing since.
            dsn("left@example.org", "failed", "5.1.1", "550 5.1.1 User unknown"),
        ],
    )

    result = run_cli("bounces", "import", str(path))

    assert "2 hard, 0 soft, 1 address suppressed, 0 not subscribers" in result.stdout
    back = world.store.subscribers.by_email("back@example.org")
    assert back is not None and back.status == "bounced" and back.request is None  # the link applies nothing
    left = world.store.subscribers.by_email("left@example.org")
    assert left is not None and left.status == "unsubscribed"


def test_an_mbox_saved_with_a_utf8_byte_order_mark_is_read(world, run_cli, tmp_path):
    path = tmp_path / "bounces.mbox"
    write_mbox(path, [dsn("gone@example.org", "failed", "5.1.1", "550 5.1.1 User unknown")])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as some editors save a file
    result = run_cli("bounces", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "1 message, 0 not delivery reports, 1 hard, 0 soft, 1 address suppressed" in result.stdout
    assert world.store.subscribers.by_email("gone@example.org").status == "bounced"
