"""API: at the door and after — proof of delivery, failed attempts, return at the counter,
ratings, and the couriers' cash on delivery; and the courier's phone working offline: its
work to keep, its clock, photos sent in parts and the proofs of its queue."""

from __future__ import annotations

from datetime import date, datetime

from apiflask import APIBlueprint, Schema, fields
from apiflask.scaffold import _annotate
from apiflask.validators import Length, OneOf
from flask import current_app, g, jsonify, request, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from postal.api import phone_schemas as phone
from postal.core.access import dossier_for
from postal.core.errors import ValidationFailed
from postal.core.time import TZ, parse_moment
from postal.custody import door
from postal.delivery import clock, cod, counter_return, evidence, proof, sync, uploads, workload
from postal.dossiers import ratings
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role, utcnow

bp = APIBlueprint("api_delivery", __name__, url_prefix="/api/v1", tag="delivery")


class RatingIn(Schema):
    # checked by the domain (ratings.level_of): 4.5 or true is refused, not rounded
    level = fields.Raw(required=True, metadata={"type": "integer", "minimum": 1, "maximum": 5,
                                                "description": "1 Rất kém … 5 Rất tốt"})
    comment = fields.String(load_default=None, validate=Length(0, ratings.MAX_COMMENT))


class RatingOut(Schema):
    code = fields.String()
    level = fields.Integer()
    rated_at = fields.DateTime()


class ProofIn(Schema):
    recipient_name = fields.String(required=True, validate=Length(1, 200))
    relation = fields.String(required=True, validate=OneOf(list(door.RELATIONS)))
    photo = fields.Raw(metadata={"type": "string", "format": "binary",
                                 "description": "JPEG, PNG or WebP (a file in multipart; "
                                                "base64 in JSON)"})
    signature = fields.String(metadata={"description": "data:image/png;base64,… from a canvas"})
    lat = fields.Float()
    lon = fields.Float()
    accuracy_m = fields.Float()
    at = fields.DateTime(metadata={"description": "when, with its offset; default now"})
    cod_collected = fields.Integer(metadata={"description": "cash taken, đồng; default the "
                                                          "dossier's amount to collect"})
    note = fields.String()
    id_number = fields.String(metadata={"description": "the recipient's ID card, where the "
                                                      "procedure demands the check"})


class AttemptOut(Schema):
    code = fields.String()
    attempt = fields.Integer()
    outcome = fields.String()
    state = fields.String()
    return_method = fields.String()
    attempts = fields.Integer(metadata={"description": "delivery attempts so far"})


class FailedIn(Schema):
    reason = fields.String(required=True, validate=OneOf(list(door.REASONS)))
    note = fields.String(load_default=None, validate=Length(0, 1000))
    lat = fields.Float(load_default=None)
    lon = fields.Float(load_default=None)
    accuracy_m = fields.Float(load_default=None)
    at = fields.DateTime(load_default=None)


class ReturnIn(Schema):
    collected_by = fields.String(required=True, validate=Length(1, 200))
    id_number = fields.String(required=True, validate=Length(1, 20))
    authorised = fields.Boolean(load_default=False, metadata={
        "description": "collecting for the applicant, with a power of attorney"})


class CodQuery(Schema):
    date = fields.Date(load_default=None, metadata={"description": "local day; default today"})


class HandoverIn(Schema):
    date = fields.Date(required=True)
    amount = fields.Integer(required=True)
    note = fields.String(load_default=None, validate=Length(0, 500))


class CodLineOut(Schema):
    code = fields.String()
    at = fields.DateTime()
    expected = fields.Integer()
    collected = fields.Integer()
    difference = fields.Integer()


class HandoverOut(Schema):
    amount = fields.Integer()
    at = fields.DateTime()
    received_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class CodOut(Schema):
    courier = fields.String()
    date = fields.Date()
    deliveries = fields.List(fields.Nested(CodLineOut))
    expected = fields.Integer()
    collected = fields.Integer()
    handed_over = fields.Integer()
    short_collected = fields.Integer(metadata={"description": "expected − collected"})
    to_hand_over = fields.Integer(metadata={"description": "collected − handed over"})
    balanced = fields.Boolean()
    handovers = fields.List(fields.Nested(HandoverOut))


def _me():
    return current_user._get_current_object()


def _attempt_dict(dossier, attempt) -> dict:
    return {"code": dossier.code, "attempt": attempt.id, "outcome": attempt.outcome.value,
            "state": dossier.state.value, "return_method": dossier.return_method.value,
            "attempts": dossier.delivery_attempts}


@bp.post("/dossiers/<code>/rating")
@roles_required(Role.CLERK, Role.COURIER, Role.MANAGER)
@bp.input(RatingIn, arg_name="body")
@bp.output(RatingOut, status_code=201)
@bp.doc(responses={400: "malformed JSON body",
                   401: "no login", 404: "no such dossier at your units",
                   409: "already rated, or the result not yet returned",
                   422: "level outside 1–5"})
def rate(code, body):
    """Record the citizen's rating of the service, once per dossier, after the return."""
    dossier = dossier_for(db.session, _me(), code)
    ratings.rate(db.session, dossier, body["level"], comment=body["comment"], now=utcnow(),
                 user=_me(), channel="api")
    return {"code": dossier.code, "level": dossier.rating, "rated_at": dossier.rated_at}


def _moment(value) -> datetime | None:
    try:
        return parse_moment(value, naive="refuse")
    except ValueError:
        raise ValidationFailed("thời điểm không hợp lệ (ISO 8601, có múi giờ)",
                               field="at") from None


def proof_from_request(max_bytes: int) -> proof.Proof:
    """The proof from a multipart form (a photo file) or a JSON body (base64 images)."""
    if request.mimetype == "multipart/form-data":
        data = request.form
        upload = request.files.get("photo")
        # read one byte past the limit: enough to refuse, never the whole of a huge file
        photo = upload.stream.read(max_bytes + 1) if upload and upload.filename else None
        signature = data.get("signature")
        if not signature and request.files.get("signature"):
            signature = request.files["signature"].stream.read(max_bytes + 1)
    elif request.is_json and isinstance(request.get_json(silent=True), dict):
        data = request.get_json()
        photo = evidence.decode_photo(data.get("photo"), max_bytes)
        signature = data.get("signature")
        if signature is not None and not isinstance(signature, str):
            raise ValidationFailed("chữ ký phải là chuỗi data URL", field="signature")
    else:
        raise ValidationFailed("gửi multipart/form-data hoặc JSON", field="body")
    return proof.Proof(
        recipient_name=str(data.get("recipient_name") or ""),
        relation=str(data.get("relation") or ""), photo=photo, signature=signature,
        lat=data.get("lat"), lon=data.get("lon"), accuracy_m=data.get("accuracy_m"),
        at=_moment(data.get("at")), cod_collected=data.get("cod_collected"),
        note=data.get("note"), id_number=_optional_text(data.get("id_number")))


def _optional_text(value) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationFailed("số CCCD phải là chuỗi", field="id_number")
    return value


@bp.post("/dossiers/<code>/delivery")
@roles_required(Role.COURIER)
@bp.output(AttemptOut, status_code=201)
@bp.doc(responses={401: "no login", 403: "another courier's run",
                   404: "no such dossier at your units",
                   409: "a counter-return dossier, or not out for delivery",
                   422: "missing recipient or relation, no photo or signature, a file that is "
                        "not an image or too large; nothing was written"})
def deliver(code):
    """Delivered at the door, with proof: recipient, relation, a photo or a signature, GPS,
    time, cash collected (multipart/form-data or JSON)."""
    max_bytes = int(current_app.config["PHOTO_MAX_BYTES"])
    dossier = dossier_for(db.session, _me(), code)
    attempt = proof.record_delivery(db.session, _me(), dossier, proof_from_request(max_bytes),
                                    utcnow(), max_photo_bytes=max_bytes)
    return _attempt_dict(dossier, attempt)


_annotate(deliver, body=ProofIn(), content_type=["multipart/form-data", "application/json"])


@bp.post("/dossiers/<code>/delivery-attempts")
@roles_required(Role.COURIER)
@bp.input(FailedIn, arg_name="body")
@bp.output(AttemptOut, status_code=201)
@bp.doc(responses={400: "malformed JSON body",
                   401: "no login", 403: "another courier's run", 404: "no such dossier",
                   409: "a counter-return dossier, or not out for delivery",
                   422: "unknown reason; nothing was written"})
def fail(code, body):
    """A failed attempt with its reason; after DELIVERY_MAX_ATTEMPTS the result goes back to
    the counter and the citizen is told."""
    dossier = dossier_for(db.session, _me(), code)
    attempt = proof.record_failed_attempt(
        db.session, _me(), dossier, body["reason"], utcnow(),
        int(current_app.config["DELIVERY_MAX_ATTEMPTS"]), note=body["note"], lat=body["lat"],
        lon=body["lon"], accuracy_m=body["accuracy_m"], at=body["at"])
    return _attempt_dict(dossier, attempt)


@bp.post("/dossiers/<code>/return")
@roles_required(Role.CLERK)
@bp.input(ReturnIn, arg_name="body")
@bp.output(AttemptOut(only=("code", "state", "return_method")), status_code=201)
@bp.doc(responses={400: "malformed JSON body",
                   401: "no login", 404: "no such dossier at your units",
                   409: "no result to return, or it is out for delivery",
                   422: "invalid ID number, or not the applicant's without authorisation"})
def return_here(code, body):
    """The result handed over at the counter, after checking the collector's ID."""
    dossier = dossier_for(db.session, _me(), code)
    counter_return.return_at_counter(db.session, _me(), dossier, body["collected_by"],
                              body["id_number"], utcnow(), authorised=body["authorised"])
    return {"code": dossier.code, "state": dossier.state.value,
            "return_method": dossier.return_method.value}


@bp.get("/couriers/<username>/cod")
@roles_required(Role.CLERK, Role.MANAGER, Role.COURIER)
@bp.input(CodQuery, location="query", arg_name="query")
@bp.output(CodOut)
@bp.doc(responses={401: "no login", 404: "no such courier at your units",
                   422: "a date outside 2000–2999"})
def cod_day(username, query):
    """A courier's cash on delivery for a day: expected, collected, handed in, still owed."""
    courier = cod.courier_for(db.session, _me(), username)
    return cod.reconcile(db.session, courier, query["date"] or _today())


@bp.post("/couriers/<username>/cod")
@roles_required(Role.CLERK, Role.MANAGER)
@bp.input(HandoverIn, arg_name="body")
@bp.output(CodOut, status_code=201)
@bp.doc(responses={400: "malformed JSON body",
                   401: "no login", 404: "no such courier at your units",
                   422: "amount not positive, or a future day"})
def cod_handover(username, body):
    """Count the cash a courier hands in for a day; answers the day's reconciliation."""
    courier = cod.courier_for(db.session, _me(), username)
    cod.record_handover(db.session, _me(), courier, body["date"], body["amount"], utcnow(),
                        body["note"])
    return cod.reconcile(db.session, courier, body["date"])


def _today() -> date:
    return utcnow().astimezone(TZ).date()


# -- the courier's phone ----------------------------------------------------------------------

@bp.get("/courier/session")
@roles_required(Role.COURIER)
@bp.output(phone.PhoneSessionOut)
@bp.doc(responses={401: "no login: the phone asks the courier to log in again"})
def phone_session():
    """Who the phone is logged in as, a fresh CSRF token for its pages (which may come from
    its cache, their own token stale) and the server's clock."""
    me = _me()
    return {"user_id": me.id, "username": me.username, "server_time": utcnow(),
            "csrf_token": None if g.get("bearer") else generate_csrf()}


@bp.get("/courier/work")
@roles_required(Role.COURIER)
@bp.output(phone.WorkOut)
@bp.doc(responses={401: "no login"})
def courier_work():
    """The courier's current work, which the phone keeps for working offline: runs and their
    stops in order, items held, manifests and results to collect, pickups, the reasons for a
    failed attempt, and the pages to keep."""
    work = workload.courier_work(db.session, _me(), utcnow())
    pages = [url_for("courier.index"), url_for("courier.offline"), url_for("delivery.courier")]
    for run in work["runs"]:
        pages.append(url_for("delivery.run", run_id=run["id"]))
        pages.extend(url_for("delivery.door", code=stop["code"]) for stop in run["stops"]
                     if stop["status"] in ("pending", "out"))
    work["pages"] = pages
    return work


@bp.post("/courier/clock")
@roles_required(Role.COURIER)
@bp.input(phone.ClockIn, arg_name="body")
@bp.output(phone.ClockOut)
@bp.doc(responses={400: "malformed JSON body", 401: "no login",
                   422: "no device id or time"})
def courier_clock(body):
    """The phone's clock against the server's, at each sync: a clock off by more than a few
    minutes is flagged to the office (GET /couriers/clocks) and shown on the phone."""
    now = utcnow()
    row = clock.observe(db.session, _me(), body["device_id"], body["device_time"], now)
    return {"server_time": now, "skew_s": row.skew_s, "flagged": row.flagged_since is not None,
            "allowance_s": int(clock.ALLOWANCE.total_seconds())}


@bp.get("/couriers/clocks")
@roles_required(Role.CLERK, Role.MANAGER)
@bp.output(phone.ClockFlagOut(many=True))
@bp.doc(responses={401: "no login"})
def flagged_clocks():
    """Couriers' phones whose clock was off at their last sync (this week), for the office."""
    return [{"courier": row.user.username, "device_id": row.device_id, "skew_s": row.skew_s,
             "worst_skew_s": row.worst_skew_s, "checked_at": row.checked_at,
             "flagged_since": row.flagged_since}
            for row in clock.flagged(db.session, _me(), utcnow())]


def _upload_dict(upload) -> dict:
    return {"id": upload.id, "length": upload.length, "offset": upload.received,
            "part_max_bytes": uploads.PART_MAX_BYTES}


@bp.post("/uploads")
@roles_required(Role.COURIER)
@bp.input(phone.UploadIn, arg_name="body")
@bp.output(phone.UploadOut)
@bp.doc(responses={400: "malformed JSON body", 401: "no login",
                   409: "the id is in use for another photo",
                   422: "empty or too large (PHOTO_MAX_BYTES), or a malformed digest"})
def begin_upload(body):
    """Start sending a photo in parts, or find how far an upload already got (`offset`):
    after a cut connection the phone resumes from there."""
    upload = uploads.begin(db.session, _me(), body["id"], body["length"], body["sha256"],
                           utcnow(), max_bytes=int(current_app.config["PHOTO_MAX_BYTES"]))
    return _upload_dict(upload)


@bp.get("/uploads/<upload_id>")
@roles_required(Role.COURIER)
@bp.output(phone.UploadOut)
@bp.doc(responses={401: "no login", 404: "no such upload of yours"})
def show_upload(upload_id):
    """How far an upload got: the offset to resume from."""
    return _upload_dict(uploads.owned(db.session, _me(), upload_id))


@bp.put("/uploads/<upload_id>/<int:offset>")
@roles_required(Role.COURIER)
@bp.output(phone.UploadOut)
@bp.doc(responses={401: "no login", 404: "no such upload of yours",
                   409: "the part does not continue what the server holds: `error.offset` "
                        "says where to resume",
                   422: "an empty part, larger than part_max_bytes, or past the photo's end"})
def put_upload_part(upload_id, offset):
    """One part of the photo (raw bytes) at its offset; a part sent again is kept once."""
    data = request.stream.read(uploads.PART_MAX_BYTES + 1)
    try:
        upload = uploads.put_part(db.session, _me(), upload_id, offset, data)
    except uploads.OffsetMismatch as exc:
        db.session.rollback()
        response = jsonify(error={"code": exc.code, "message": exc.message,
                                  "offset": exc.offset})
        response.status_code = 409
        return response
    return _upload_dict(upload)


_annotate(put_upload_part, body={"type": "string", "format": "binary"},
          content_type="application/octet-stream")


def _hints() -> dict[str, str]:
    """What the courier should do about a refused proof, by the refusal's code or field."""
    again = gettext("Mở lại điểm giao, sửa thông tin rồi ghi lại.")
    return {
        "not_found": gettext("Hồ sơ không thuộc đơn vị của bạn: báo quầy."),
        "not_ready": gettext("Hồ sơ đã được xử lý khác (đã trả hoặc đã về quầy): giữ kết quả "
                             "và báo quầy."),
        "already_delivered": gettext("Kết quả đã được ghi là đã trả: báo quầy, không giao lại."),
        "counter_return": gettext("Hồ sơ trả tại quầy: mang kết quả về quầy."),
        "forbidden": gettext("Hồ sơ thuộc chuyến của bưu tá khác: báo người lập chuyến."),
        "out_of_order": gettext("Có lần quét sau thời điểm này: báo quầy kiểm tra."),
        "future_time": gettext("Chỉnh đồng hồ máy (ngày giờ tự động) rồi ghi lại."),
        "before_existence": gettext("Chỉnh đồng hồ máy (ngày giờ tự động) rồi ghi lại."),
        "bad_time": gettext("Chỉnh đồng hồ máy (ngày giờ tự động) rồi ghi lại."),
        "at": gettext("Chỉnh đồng hồ máy (ngày giờ tự động) rồi ghi lại."),
        "id_number": gettext("Kiểm tra lại CCCD của người nhận; nếu nhận thay cần giấy uỷ "
                             "quyền."),
        "upload_incomplete": gettext("Máy sẽ tự gửi lại ảnh."),
        "photo_corrupt": gettext("Máy sẽ tự gửi lại ảnh."),
        "": again,
    }


def _error_dict(error) -> dict:
    hints = _hints()
    hint = hints.get(error.code) or hints.get(error.field or "") or hints[""]
    return {"code": error.code, "message": error.message, "field": error.field, "hint": hint}


def _answer_dict(answer: sync.Answer) -> dict:
    out: dict = {"id": answer.id, "status": answer.status}
    if answer.error is not None:
        out["error"] = _error_dict(answer.error)
    attempt = answer.attempt
    if attempt is not None:
        dossier = attempt.dossier
        out["attempt"] = {"code": dossier.code, "attempt": attempt.id,
                          "outcome": attempt.outcome.value, "at": attempt.at,
                          "state": dossier.state.value,
                          "return_method": dossier.return_method.value,
                          "attempts": dossier.delivery_attempts,
                          "recipient_name": attempt.recipient_name, "reason": attempt.reason}
    return out


@bp.post("/proofs")
@roles_required(Role.COURIER)
@bp.input(phone.ProofBatchIn, arg_name="body")
@bp.output(phone.ProofAnswerOut(many=True))
@bp.doc(responses={400: "malformed JSON body", 401: "no login",
                   422: "a malformed batch (1–100 proofs of the documented shape): nothing "
                        "was written"})
def post_proofs(body):
    """Proofs from the phone's queue, delivered (with a signature and/or a finished photo
    upload) or failed (with its reason): one answer each, in order.

    Each is judged by the same rules as the door page and POST /dossiers/{code}/delivery, and
    stored once by its id: a second send answers `duplicate` with the attempt stored the first
    time. A refused proof (`rejected`, with `error.code`, `error.message` and `error.hint`:
    what the courier should do) writes nothing and leaves the rest of the batch alone; `retry`
    asks the phone to send its photo again first.
    """
    now = utcnow()
    me = _me()
    skew = clock.skew_seconds(body["sent_at"], now)
    if body["device_id"] and body["sent_at"]:
        clock.observe(db.session, me, body["device_id"], body["sent_at"], now)
    limits = sync.Limits(max_photo_bytes=int(current_app.config["PHOTO_MAX_BYTES"]),
                         max_attempts=int(current_app.config["DELIVERY_MAX_ATTEMPTS"]))
    answers = sync.apply_batch(db.session, me, body["proofs"], now, limits, skew=skew)
    return [_answer_dict(a) for a in answers]
