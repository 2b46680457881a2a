"""An SMS/Zalo gateway over HTTP (NOTIFY_SENDER=http): the request is built from SMS_TEMPLATE
(a JSON body, or a form body when it does not start with "{"), the gateway's message id and
delivery status are read from its answer, later ones from its delivery receipts. Text is
counted in SMS segments; SMS_ASCII=1 (or a gateway that refuses Unicode) sends Vietnamese
without diacritics."""

from __future__ import annotations

import json
import urllib.parse

from postal.core.text import unaccent
from postal.outbox.wire import LinkFailure, call

# GSM 03.38: the basic set (one septet each) and the extension table (two septets each)
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = set("^{}\\[~]|€\f")
FAILED = {"failed", "rejected", "error", "undeliverable"}
DEFAULT_TEMPLATE = '{"to": "{to}", "text": "{text}", "ref": "{ref}"}'


def segments(text: str) -> tuple[str, int]:
    """(encoding, SMS segments): GSM-7 160 a message or 153 a part; UCS-2 70 or 67."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        septets = sum(2 if c in GSM_EXTENDED else 1 for c in text)
        return "gsm7", 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2  # characters beyond the BMP take two
    return "ucs2", 1 if units <= 70 else -(-units // 67)


def _fill(value, fields: dict):
    """The template with {to}, {text}, {subject}, {ref}, {segments} filled in its strings."""
    if isinstance(value, str):
        for name, text in fields.items():
            value = value.replace("{" + name + "}", str(text))
        return value
    if isinstance(value, list):
        return [_fill(v, fields) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, fields) for k, v in value.items()}
    return value


class HttpSmsSender:
    """POSTs each message to SMS_URL; SMS_AUTH is sent as the Authorization header."""

    accepts_ref = True  # the worker passes our message id, echoed by delivery receipts

    def __init__(self, url: str, auth: str = "", template: str = "", ascii_only: bool = False,
                 timeout: float = 10.0):
        if not url:
            raise ValueError("NOTIFY_SENDER='http' needs SMS_URL")
        template = (template or DEFAULT_TEMPLATE).strip()
        self.form = not template.startswith("{")
        if self.form:
            self.template = urllib.parse.parse_qsl(template, keep_blank_values=True)
        else:
            try:
                self.template = json.loads(template)
            except ValueError:
                raise ValueError("SMS_TEMPLATE is neither JSON nor a form body") from None
        self.url, self.auth, self.ascii_only, self.timeout = url, auth, ascii_only, timeout

    def _request(self, to: str, subject: str, body: str, ref: str) -> tuple[bytes, dict, int]:
        encoding, count = segments(body)
        fields = {"to": to, "subject": subject, "text": body, "ref": ref or "",
                  "segments": count, "encoding": encoding}
        headers = {"Authorization": self.auth} if self.auth else {}
        if self.form:
            data = urllib.parse.urlencode([(k, _fill(v, fields)) for k, v in self.template])
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return data.encode("utf-8"), headers, count
        headers["Content-Type"] = "application/json; charset=utf-8"
        data = json.dumps(_fill(self.template, fields), ensure_ascii=False)
        return data.encode("utf-8"), headers, count

    def send(self, to: str, subject: str, body: str, ref: str = "") -> dict:
        """Send; returns {ref, status, segments, text} or raises LinkFailure (retried)."""
        if self.ascii_only:
            subject, body = unaccent(subject), unaccent(body)
        try:
            answer = self._post(to, subject, body, ref)
        except LinkFailure as exc:
            # a gateway that cannot take Unicode says so: send the text without diacritics
            if self.ascii_only or not any(w in str(exc).lower() for w in ("unicode", "ascii")):
                raise
            subject, body = unaccent(subject), unaccent(body)
            answer = self._post(to, subject, body, ref)
        receipt = answer[0]
        status = str(receipt.get("status") or receipt.get("Status") or "accepted").lower()
        if status in FAILED:
            raise LinkFailure(f"gateway refused the message: {status}")
        provider = (receipt.get("id") or receipt.get("message_id") or receipt.get("MessageId")
                    or "")
        return {"ref": str(provider)[:100] or None, "status": status[:30],
                "segments": answer[1], "text": body}

    def _post(self, to, subject, body, ref) -> tuple[dict, int]:
        data, headers, count = self._request(to, subject, body, ref)
        answer = call("POST", self.url, body=data, headers=headers, timeout=self.timeout)
        if not answer.text.strip():
            return {}, count
        receipt = answer.json()
        return (receipt if isinstance(receipt, dict) else {}), count
