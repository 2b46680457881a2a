"""Files sent to the browser: PDFs opened in its viewer, exports downloaded."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response

PDF = "application/pdf"


def file_response(body: bytes | str | Iterable[bytes], mimetype: str, name: str, *,
                  inline: bool = False) -> Response:
    """The file under `name`; never cached, since the papers carry personal data."""
    disposition = "inline" if inline else "attachment"
    # a type that names its charset is sent as it is (mimetype= would add a second charset)
    kind = {"content_type": mimetype} if "charset=" in mimetype else {"mimetype": mimetype}
    return Response(body, **kind, headers={
        "Content-Disposition": f'{disposition}; filename="{name}"', "Cache-Control": "no-store"})


def pdf_response(body: bytes, name: str) -> Response:
    """A PDF for the browser's viewer (it prints from there)."""
    return file_response(body, PDF, name, inline=True)
