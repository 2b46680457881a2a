"""VNPost orders: a result to deliver home becomes a VNPost order (customer code, order number
= dossier code, receiver, COD amount); its tracking is read back and mapped to our delivery
events (the scan events of shared/interfaces.md)."""

from __future__ import annotations

import json
import urllib.parse
from datetime import datetime

from postal.core.time import TZ
from postal.models import Dossier
from postal.outbox.wire import LinkFailure, call, post_json

# VNPost tracking status -> our delivery event (unlisted statuses are VNPost's own steps)
TRACKING_EVENTS = {
    "PHAT_DI": "out_for_delivery",  # handed to the delivering postman
    "PHAT_THANH_CONG": "delivered",
    "PHAT_KHONG_THANH_CONG": "delivery_failed",
    "CHUYEN_HOAN": "delivery_failed",  # returned to sender: back to the counter
}


def order_for(dossier: Dossier, customer_code: str) -> dict:
    """The order VNPost is asked to create for a result delivered home."""
    applicant = dossier.applicant
    ward = dossier.delivery_ward or (applicant.ward if applicant is not None else None)
    street = dossier.delivery_street or (applicant.street if applicant is not None else "")
    return {
        "CustomerCode": customer_code,
        "OrderNumber": dossier.code,
        "Receiver": {
            "Name": applicant.full_name if applicant is not None else "",
            "Phone": (applicant.phone or "") if applicant is not None else "",
            "Address": ", ".join(p for p in (street or "", ward.name if ward else "") if p),
            "WardCode": ward.code if ward is not None else "",
        },
        "CodAmount": dossier.cod_amount or 0,
        "Content": "Kết quả giải quyết thủ tục hành chính",
    }


def map_tracking(events: list[dict]) -> list[dict]:
    """VNPost's tracking events mapped to ours: [{event, at, note, status}] in time order."""
    mapped = []
    for e in events or ():
        ours = TRACKING_EVENTS.get(str(e.get("StatusCode", "")))
        if ours is None:
            continue
        try:
            at = datetime.fromisoformat(str(e.get("Time")))
        except ValueError:
            continue
        at = at if at.tzinfo is not None else at.replace(tzinfo=TZ)
        mapped.append({"event": ours, "at": at, "note": e.get("Note") or "",
                       "status": e.get("StatusCode")})
    return sorted(mapped, key=lambda m: m["at"])


class VNPostClient:
    """VNPOST_URL's order API: POST /orders, GET /orders/{number}/tracking."""

    def __init__(self, url: str, customer_code: str, token: str = "", timeout: float = 10.0):
        self.url, self.customer_code = url.rstrip("/"), customer_code
        self.token, self.timeout = token, timeout

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def create_order(self, dossier: Dossier, key: str) -> str:
        answer = post_json(f"{self.url}/orders", order_for(dossier, self.customer_code),
                           headers={**self._headers(), "X-Postal-Delivery": key},
                           timeout=self.timeout)
        body = answer.json()
        if not isinstance(body, dict) or not body.get("ItemCode"):
            raise LinkFailure(f"VNPost answered no ItemCode: {answer.text[:300]}")
        return json.dumps({"ItemCode": body["ItemCode"]})

    def tracking(self, order_number: str) -> list[dict]:
        """The order's tracking, mapped to our delivery events."""
        answer = call("GET", f"{self.url}/orders/{urllib.parse.quote(order_number, safe='')}"
                      "/tracking", headers=self._headers(), timeout=self.timeout)
        body = answer.json()
        if not isinstance(body, dict) or not isinstance(body.get("Events"), list):
            raise LinkFailure(f"malformed tracking: {answer.text[:300]}")
        return map_tracking(body["Events"])
