"""Senders: how a message leaves (the log by default, SMTP, or a gateway's own module)."""

from __future__ import annotations

import importlib
import logging
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any, Protocol

from postal.outbox.links import build_links
from postal.outbox.sms import HttpSmsSender

logger = logging.getLogger(__name__)


class Sender(Protocol):
    """Anything that delivers one message or raises."""

    def send(self, to: str, subject: str, body: str) -> None: ...


class LogSender:
    """The default: each message goes to the Python log (for a pilot without a gateway)."""

    def send(self, to: str, subject: str, body: str) -> None:
        logger.info("notify %s: %s", to, body)


class SmtpSender:
    """E-mail through an SMTP server; `to_template` maps the recipient (a phone number) to an
    address, e.g. "{recipient}@sms.example.vn" for an e-mail-to-SMS gateway."""

    def __init__(self, host: str, port: int = 25, from_addr: str = "postal@localhost",
                 to_template: str = "{recipient}@localhost", timeout: float = 10.0,
                 starttls: bool = False, username: str = "", password: str = ""):
        if not host:
            raise ValueError("NOTIFY_SENDER='smtp' needs SMTP_HOST")
        self.host, self.port, self.from_addr = host, int(port), from_addr
        self.to_template, self.timeout, self.starttls = to_template, timeout, starttls
        self.username, self.password = username, password

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.from_addr
        message["To"] = self.to_template.format(recipient=to)
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


def build_sender(config: Mapping[str, Any]) -> Sender:
    """NOTIFY_SENDER: "log", "smtp", "http" (an SMS/Zalo gateway), or "package.module:factory"
    (called with the config). The sender carries the links the settings switch on (webhooks,
    portal, VNPost: links.build_links), which the worker sends before the messages."""
    sender = _sender(config)
    try:
        sender.links = build_links(config)
    except AttributeError:  # a factory's object that takes no attributes: messages only
        pass
    return sender


def _sender(config: Mapping[str, Any]) -> Sender:
    kind = str(config.get("NOTIFY_SENDER") or "log")
    if kind == "log":
        return LogSender()
    if kind == "http":
        return HttpSmsSender(config.get("SMS_URL", ""), config.get("SMS_AUTH", ""),
                             config.get("SMS_TEMPLATE", ""), bool(config.get("SMS_ASCII")),
                             float(config.get("LINK_TIMEOUT", 10) or 10))
    if kind == "smtp":
        return SmtpSender(config.get("SMTP_HOST", ""), config.get("SMTP_PORT", 25),
                          config.get("SMTP_FROM", "postal@localhost"),
                          config.get("SMTP_TO", "{recipient}@localhost"),
                          float(config.get("SMTP_TIMEOUT", 10)),
                          bool(config.get("SMTP_STARTTLS", False)),
                          config.get("SMTP_USERNAME", ""), config.get("SMTP_PASSWORD", ""))
    module, _, attr = kind.partition(":")
    if not attr:
        raise ValueError(
            f"NOTIFY_SENDER must be 'log', 'smtp', 'http' or 'module:factory', not {kind!r}")
    return getattr(importlib.import_module(module), attr)(config)
