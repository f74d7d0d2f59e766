"""Email over SMTP: one plain-text message (with an optional HTML part) to one or more recipients."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from mamori.integrations.errors import DeliveryError
from mamori.integrations.text import address_safe, header_safe


def send_email(
    *,
    host: str | None,
    port: int,
    sender: str,
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    timeout: float = 10.0,
    message_id: str | None = None,
) -> str:
    """Send and return the Message-ID; DeliveryError (permanent when no server is configured or the message
    cannot be built). The subject is made one safe line whatever it holds (an alert summary with a newline).
    `message_id` (a stable id of what is sent) lets a receiving system drop a resend after a crash."""
    if not host:
        raise DeliveryError("no SMTP server is configured (MAMORI_SMTP_HOST)", permanent=True)
    message = EmailMessage()
    try:
        message["From"], message["Subject"] = address_safe(sender), header_safe(subject)
        message["To"] = ", ".join(address_safe(a) for a in to)
        message["Message-ID"] = message_id or make_msgid(domain="mamori.invalid")
    except ValueError as exc:
        raise DeliveryError(f"cannot build the message: {exc}", permanent=True) from None
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            refused = smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP {host}:{port}: {exc}") from None
    if refused:
        raise DeliveryError(f"SMTP refused {', '.join(refused)}", permanent=True)
    return str(message.get("Message-ID") or "")
