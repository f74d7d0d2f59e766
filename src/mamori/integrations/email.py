"""Email over SMTP: one plain-text message (with an optional HTML part) to one or more recipients."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from mamori.integrations.errors import DeliveryError


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
) -> str:
    """Send and return the Message-ID; DeliveryError (permanent when no server is configured)."""
    if not host:
        raise DeliveryError("no SMTP server is configured (MAMORI_SMTP_HOST)", permanent=True)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(to), subject
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
