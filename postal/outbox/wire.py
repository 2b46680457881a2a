"""One HTTP call to another system (stdlib only): any answer but a 2xx, a timeout, a refused
connection or a malformed answer is a LinkFailure, which the worker retries later."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass


class LinkFailure(Exception):
    """The other system did not take it: try again later (or dead-letter it)."""


@dataclass(frozen=True)
class Answer:
    status: int
    text: str

    def json(self):
        """The answer's JSON, or a LinkFailure when it is not JSON (a malformed answer)."""
        try:
            return json.loads(self.text)
        except ValueError:
            raise LinkFailure(f"malformed answer (HTTP {self.status}): {self.text[:200]!r}"
                              ) from None


def call(method: str, url: str, *, body: bytes | None = None, headers: dict | None = None,
         timeout: float = 10.0) -> Answer:
    """Send one request; a 2xx Answer, or a LinkFailure saying what went wrong."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Answer(response.status, response.read(1_000_000).decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        text = exc.read(2000).decode("utf-8", "replace") if exc.fp is not None else ""
        raise LinkFailure(f"HTTP {exc.code}: {text[:300]}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LinkFailure(f"{type(exc).__name__}: {reason}") from None


def post_json(url: str, payload, *, headers: dict | None = None, timeout: float = 10.0
              ) -> Answer:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return call("POST", url, body=body, timeout=timeout,
                headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
