"""API: webhook subscribers (admin), and the SMS gateway's delivery receipts.

The deliveries themselves are described in the OpenAPI document's `x-webhooks` section
(OpenAPI 3.0 has no `webhooks` key; 3.1 and Redoc read the same shape)."""

from __future__ import annotations

import hmac

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf
from flask import Flask, current_app, request
from sqlalchemy import select

from postal.api.schemas import PRINTABLE
from postal.core.errors import NotFound
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Notification, Role
from postal.outbox import webhooks
from postal.outbox.events import EVENT_NAMES

bp = APIBlueprint("api_webhooks", __name__, url_prefix="/api/v1", tag="webhooks")


class SubscriberIn(Schema):
    url = fields.String(required=True, validate=[Length(1, 500), PRINTABLE])
    secret = fields.String(required=True, validate=[Length(16, 200), PRINTABLE])
    events = fields.List(fields.String(validate=OneOf(EVENT_NAMES)), required=True,
                         validate=Length(1, len(EVENT_NAMES)))


class SubscriberId(Schema):
    id = fields.Integer()


class SubscriberOut(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    created_at = fields.DateTime()


class ReceiptIn(Schema):
    ref = fields.String(load_default=None, validate=[Length(1, 100), PRINTABLE])
    id = fields.String(load_default=None, validate=[Length(1, 100), PRINTABLE])
    status = fields.String(required=True, validate=[Length(1, 30), PRINTABLE])


class ReceiptOut(Schema):
    ref = fields.String()
    status = fields.String()


@bp.post("/webhooks")
@roles_required(Role.ADMIN)
@bp.input(SubscriberIn, arg_name="body")
@bp.output(SubscriberId, status_code=201)
@bp.doc(responses=[422])
def subscribe(body):
    """Register a subscriber: each event it names is POSTed to its URL, signed with its
    secret (see x-webhooks)."""
    subscriber = webhooks.subscribe(db.session, url=body["url"], secret=body["secret"],
                                    events=body["events"])
    return {"id": subscriber.id}


@bp.get("/webhooks")
@roles_required(Role.ADMIN)
@bp.output(SubscriberOut(many=True))
def list_subscribers():
    """The active subscribers (their secrets are never shown again)."""
    return webhooks.subscribers(db.session)


@bp.delete("/webhooks/<int:subscriber_id>")
@roles_required(Role.ADMIN)
@bp.output({}, status_code=204)
@bp.doc(responses=[404])
def unsubscribe(subscriber_id):
    """Stop sending to a subscriber (deliveries already made stay on record)."""
    webhooks.unsubscribe(db.session, subscriber_id)
    return ""


@bp.post("/sms/receipts")
@bp.input(ReceiptIn, arg_name="body")
@bp.output(ReceiptOut)
@bp.doc(security=[], responses={404: "receipts are off, the token is wrong, or no such "
                                     "message"})
def sms_receipt(body):
    """A delivery receipt from the SMS gateway: `ref` (our message id, sent as {ref}) or
    `id` (the gateway's own), and the status. The gateway proves itself with the header
    X-Postal-Token = SMS_RECEIPT_TOKEN; without that setting receipts are off."""
    expected = current_app.config.get("SMS_RECEIPT_TOKEN") or ""
    given = request.headers.get("X-Postal-Token", "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise NotFound("không có tin nhắn này")
    row, ref = None, body["ref"] or ""
    if ref.isascii() and ref.isdigit() and 0 < int(ref) < 2**31:
        row = db.session.get(Notification, int(ref))
    elif body["id"]:
        row = db.session.scalars(select(Notification).where(
            Notification.provider_ref == body["id"])).first()
    if row is None:
        raise NotFound("không có tin nhắn này")
    row.delivery_status = body["status"].lower()
    return {"ref": str(row.id), "status": row.delivery_status}


_HEADERS = {
    "X-Postal-Event": "the event name, as in the body's `event`",
    "X-Postal-Delivery": "unique per event and subscriber, the same on every retry: drop a "
                         "delivery already seen",
    "X-Postal-Signature": "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>;"
                          " refuse a t far from your clock",
}
_DOSSIER = {
    "type": "object",
    "properties": {name: {"type": "string", "nullable": True} for name in (
        "code", "status", "unit_code", "agency_code", "procedure_code", "channel",
        "return_method", "received_at", "due_at", "appointment_at", "resolved_at",
        "returned_at", "returned_via")} | {
        "delivery_attempts": {"type": "integer"},
        "rating": {"type": "integer", "nullable": True}},
}
_PAYLOAD = {
    "type": "object", "required": ["id", "event", "occurred_at", "dossier"],
    "properties": {
        "id": {"type": "string", "format": "uuid", "description": "the event's id"},
        "event": {"type": "string", "enum": list(EVENT_NAMES)},
        "occurred_at": {"type": "string", "format": "date-time"},
        "dossier": _DOSSIER,
        "details": {"type": "object", "description": "what the event adds (e.g. reason)"},
    },
}


def _webhooks_spec(spec: dict) -> dict:
    """Each event as a webhook operation: the POST a subscriber receives."""
    spec["x-webhooks"] = {
        name: {"post": {
            "summary": f"{name}: POSTed to each subscriber that asked for it",
            "description": "A 2xx answer ends it; anything else (or no answer) is retried "
                           "with exponential backoff, then dead-lettered for a manual replay.",
            "parameters": [{"name": header, "in": "header", "required": True,
                            "description": text, "schema": {"type": "string"}}
                           for header, text in _HEADERS.items()],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _PAYLOAD}}},
            "responses": {"2XX": {"description": "received"}},
        }} for name in EVENT_NAMES}
    return spec


def init_app(app: Flask) -> None:
    app.spec_processor(_webhooks_spec)
