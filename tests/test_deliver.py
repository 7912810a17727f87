"""The digest as it leaves: its parts and headers, scraped markup made inert, an international sender in its
ASCII form, a preview that is the sent message byte for byte, and the transport (the outbox by default;
SMTP only over TLS, or in plaintext to localhost). Sent to a real aiosmtpd server on loopback, with real
SQLite and the real fixtures.
"""

from __future__ import annotations

import email
import json
import time
from email.policy import default

from tests import deliver_support
from tests.deliver_support import DAY, LIST_KEY, MARCH, MORNING, html_part
from tests.deliver_support import Mail as Mail  # test_deliver_message_id.py takes it from here

# The fixtures, from the module that holds them: a CLI, a loopback relay and the day's papers.
mail_env = deliver_support.mail_env
mail = deliver_support.mail


def test_the_message_has_both_parts_and_the_list_headers(mail):
    mail.subscribe("ada@example.org")
    mail.send()
    [item] = mail.handler.received
    msg = item.parsed()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    assert msg["List-Unsubscribe"].startswith("<https://papers.example.org/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Id"]
    assert msg["Message-ID"] == f"<digest.{DAY}.1.{LIST_KEY}@example.org>"
    assert msg["Date"] and msg["To"] == "ada@example.org"
    assert msg["Subject"].startswith("Your papers for Tue 11 Mar")
    assert "papers@example.org" in msg["From"]
    assert "https://papers.example.org/manage/" in html_part(msg)


def test_scraped_markup_arrives_inert(mail, tmp_path):
    items = json.loads(MARCH.read_text())
    items[0]["paper"]["title"] = "<script>alert(1)</script> LLM reasoning & agents"
    items[0]["paper"]["githubRepo"] = "javascript:alert(1)"
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(items))
    assert mail.cli("fetch", "--file", str(hostile), "--date", DAY).exit_code == 0
    mail.subscribe("eve@example.org", "LLM reasoning")
    mail.send()
    [item] = mail.handler.received
    msg = item.parsed()
    html = html_part(msg)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "javascript:" not in html.lower()


def test_a_sender_with_an_international_domain_sends_in_its_idna_form(mail, tmp_path):
    # from_address as its owner writes it; Message-ID, From and MAIL FROM need the ASCII (xn--) form.
    unicode_sender = {"NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@bücher.de"}
    mail.subscribe("ada@example.org")
    eml = tmp_path / "preview.eml"
    preview = mail.cli(
        "preview", "--email", "ada@example.org", "--date", DAY, "--out", str(eml), env=unicode_sender
    )
    assert preview.exit_code == 0, preview.output
    assert "send: 1 sent, 0 deferred, 0 failed" in mail.send(env=unicode_sender).stdout
    [item] = mail.handler.received
    assert item.data.isascii()
    msg = item.parsed()
    assert msg["Message-ID"] == f"<digest.{DAY}.1.{LIST_KEY}@xn--bcher-kva.de>"
    assert msg["From"].addresses[0].addr_spec == "papers@xn--bcher-kva.de"
    assert eml.read_bytes() == item.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_preview_is_byte_identical_to_the_sent_html(mail, tmp_path):
    mail.subscribe("same@example.org")
    before = tmp_path / "before.html"
    result = mail.cli("preview", "--email", "same@example.org", "--date", DAY, "--out", str(before))
    assert result.exit_code == 0, result.output
    # Let the wall clock move on: nothing in the email may depend on when it is built.
    time.sleep(1.1)
    mail.send()
    [item] = mail.handler.received
    sent_html = html_part(item.parsed())
    assert before.read_bytes() == sent_html.encode("utf-8")
    after = mail.cli("preview", "--email", "same@example.org", "--date", DAY)
    assert after.stdout_bytes == sent_html.encode("utf-8")
    text = mail.cli("preview", "--email", "same@example.org", "--date", DAY, "--text").stdout_bytes
    assert text == item.parsed().get_body(("plain",)).get_content().encode("utf-8")


def test_a_preview_into_an_eml_file_is_the_message_send_delivers(mail, tmp_path):
    mail.subscribe("same@example.org")
    eml = tmp_path / "preview.EML"
    result = mail.cli("preview", "--email", "same@example.org", "--date", DAY, "--out", str(eml))
    assert result.exit_code == 0, result.output
    mail.send()
    [item] = mail.handler.received
    # Byte for byte, the message the relay received: headers (Message-ID included) and both parts.
    assert eml.read_bytes() == item.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert email.message_from_bytes(eml.read_bytes(), policy=default)["Message-ID"] == item.message_id
    refused = mail.cli("preview", "--email", "same@example.org", "--date", DAY, "--text", "--out", str(eml))
    assert refused.exit_code == 2 and "an .eml file holds both parts" in refused.stderr


def test_outbox_is_the_default_transport(run_cli, tmp_path):
    assert run_cli("fetch", "--file", str(MARCH), "--date", DAY).exit_code == 0
    run_cli("subscribers", "add", "box@example.org", "--topic", "LLM")
    result = run_cli("send", "--date", DAY, clock=lambda: MORNING)
    assert result.exit_code == 0, result.output
    # As config.toml says: one file per message, named after its Message-ID, no subfolder per issue.
    files = list((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == [f"digest.2025-03-11.1.{LIST_KEY}_newsletter.invalid.eml"]
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in files[0].read_bytes()


def test_starttls_never_falls_back_to_plaintext(mail):
    mail.subscribe("tls@example.org")
    result = mail.send(env={"NEWSLETTER_SMTP_SECURITY": "starttls"}, code=5)
    assert "does not offer STARTTLS" in result.stdout
    assert mail.handler.received == []
    assert mail.handler.attempts == {}


def test_plaintext_to_a_remote_host_is_refused_by_config(mail):
    result = mail.cli("send", "--date", DAY, env={"NEWSLETTER_SMTP_HOST": "smtp.example.org"})
    assert result.exit_code == 2
    assert "allowed only for localhost" in result.stderr
