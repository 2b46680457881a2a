"""A dossier's papers as PDF answers, shared by the API and the counter pages."""

from __future__ import annotations

from flask import Response, current_app, request, url_for
from werkzeug.routing import BuildError

from postal.core.errors import Conflict, ValidationFailed
from postal.dossiers import decisions
from postal.dossiers.lifecycle import State
from postal.http.responses import pdf_response as web_pdf
from postal.models import Dossier, ItemKind

KINDS = ("receipt", "supplement-slip", "refusal-slip", "sticker")
LETTER_PAGES = ("A4", "A5")
STICKER_PAGES = ("A6", "62mm")


def public_status_url(dossier: Dossier) -> str:
    """The citizen's status page for this dossier, as printed in the receipt's QR code."""
    try:
        path = url_for("public.status", token=dossier.token)
    except BuildError:  # the public page is not there yet: keep the documented address
        path = f"/public/status?token={dossier.token}"
    base = current_app.config.get("PUBLIC_BASE_URL") or request.url_root
    return base.rstrip("/") + path


def _page(page: str | None, allowed: tuple[str, ...]) -> str:
    if not page:
        return allowed[0]
    for candidate in allowed:
        if page.lower() == candidate.lower():
            return candidate
    raise ValidationFailed(f"page must be one of {', '.join(allowed)}", field="page")


def render(kind: str, dossier: Dossier, page: str | None = None) -> bytes:
    """The PDF of one of the dossier's papers; Conflict when the dossier has no such paper."""
    from postal.documents.receipt import (
        render_folder_sticker,
        render_receipt,
        render_refusal_slip,
        render_supplement_slip,
    )

    if kind == "receipt":
        if dossier.code is None:
            raise Conflict("only an accepted dossier has a receipt", code="no_such_paper")
        return render_receipt(dossier, page=_page(page, LETTER_PAGES),
                              public_url=public_status_url(dossier))
    if kind == "supplement-slip":
        if not dossier.missing_documents:
            raise Conflict("this dossier has no supplement request", code="no_such_paper")
        return render_supplement_slip(dossier, None, page=_page(page, LETTER_PAGES))
    if kind == "refusal-slip":
        if dossier.state != State.REJECTED:
            raise Conflict("this dossier was not refused at intake", code="no_such_paper")
        return render_refusal_slip(dossier, page=_page(page, LETTER_PAGES))
    if kind == "sticker":
        folder = next((i for i in dossier.items if i.kind == ItemKind.FOLDER), None)
        if folder is None:
            raise Conflict("this dossier has no paper folder", code="no_such_paper")
        return render_folder_sticker(folder, page=_page(page, STICKER_PAGES))
    raise ValidationFailed(f"unknown paper {kind!r}", field="kind")


def pdf_response(kind: str, dossier: Dossier, page: str | None = None) -> Response:
    """Inline PDF (the browser's viewer prints it); framable by our own pages only."""
    response = web_pdf(render(kind, dossier, page), f"{kind}-{dossier.code or dossier.id}.pdf")
    # the counter prints from a hidden frame; the app-wide headers would forbid framing
    response.headers.update({"X-Frame-Options": "SAMEORIGIN",
                             "Content-Security-Policy": "frame-ancestors 'self'"})
    return response


def apology_response(session, found: Dossier) -> Response:
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả, for the latest extension."""
    from postal.documents.apology import render_apology_letter

    event = decisions.last_extension(session, found)
    if event is None or found.appointment_at is None:
        raise Conflict(f"hồ sơ {found.code} chưa được gia hạn")
    pdf = render_apology_letter(found, new_date=found.appointment_at,
                                reason=(event.data or {}).get("reason") or "", issued_at=event.at)
    return web_pdf(pdf, f"xin-loi-{found.code}.pdf")
