"""Judging a scan before anything is written: what it names, who may record it, and what
it does to the dossier. A scan is refused only for what it is (unknown kind or barcode, dated in
the future or before its item existed, the scanner's role or unit, a hand-over without its
recipient) or when it contradicts the return to the citizen."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from postal.core.access import sees_unit
from postal.core.time import EARLIEST, TZ, as_utc
from postal.custody import legs, progress
from postal.custody.door import HANDED_OVER, recipient_problem
from postal.custody.lookup import Lookup, normalise
from postal.dossiers.lifecycle import Action, next_state
from postal.models import ItemKind, OrgUnit, ReturnMethod, Role, User

EVENTS = ("pickup", "handover", "out_for_delivery", "delivery_failed", "delivered", "collected")
ROLES = {
    "pickup": (Role.COURIER,),
    "handover": (Role.COURIER, Role.AGENCY, Role.CLERK),
    "out_for_delivery": (Role.COURIER,),
    "delivery_failed": (Role.COURIER,),
    "delivered": (Role.COURIER,),
    "collected": (Role.CLERK,),
}
DOOR_EVENTS = ("out_for_delivery", "delivery_failed", "delivered")
RESULT_ONLY = ("out_for_delivery", "delivery_failed", "delivered", "collected")
# staff who confirm what reaches their own unit; a courier's handover awaits that confirmation
RECEIVING_ROLES = (Role.AGENCY, Role.CLERK)
# phones' clocks drift; a scan a few minutes "ahead" of the server is still the present
CLOCK_SKEW = timedelta(minutes=5)
# letters, digits, - and _: a UUID fits; ':' and '/' are kept for ids derived on the server
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,50}$")


class ScanRejected(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Target:
    item: object
    client_id: str = ""  # what the item's event is stored under
    action: Action | None = None
    steps: list[Action] = field(default_factory=list)


@dataclass
class Plan:
    """What a scan will write, decided before anything is written."""

    targets: list[Target]
    unit: OrgUnit | None = None
    manifest: object = None  # the manifest whose code was scanned
    pickup: object = None  # a home pickup's label was scanned
    receiver: bool = False  # a handover scanned by the receiving unit's staff


class Judge:
    def __init__(self, user: User, now: datetime, known: Lookup):
        self.user, self.now, self.known = user, now, known

    def __call__(self, scan) -> Plan:
        user = self.user
        if not isinstance(scan.id, str) or not CLIENT_ID.fullmatch(scan.id):
            raise ScanRejected("bad_id", "mã sự kiện (id) phải là 8–50 chữ, số, - hoặc _")
        if scan.event not in EVENTS:
            raise ScanRejected("unknown_event", f"loại sự kiện không hợp lệ: {scan.event!r}")
        if scan.at.tzinfo is None:
            raise ScanRejected("bad_time", "thời điểm quét phải có múi giờ")
        at = as_utc(scan.at)
        if at < EARLIEST:
            raise ScanRejected("bad_time", "thời điểm quét không hợp lệ: kiểm tra đồng hồ máy")
        if at > self.now + CLOCK_SKEW:
            raise ScanRejected("future_time", "thời điểm quét ở tương lai: kiểm tra đồng hồ máy")
        if user.role != Role.ADMIN and user.role not in ROLES[scan.event]:
            raise ScanRejected("wrong_role", f"vai trò {user.role.value} không ghi được "
                                             f"sự kiện {scan.event}")
        unit = self._unit(scan.unit_code)
        text, kind = normalise(scan.barcode)
        if kind == "s10" and text in self.known.pickups:
            return Plan([], unit, pickup=self._judge_pickup(scan, self.known.pickups[text], unit))
        targets, manifest = self._targets(scan, text, kind)
        plan = Plan(targets, unit, manifest, receiver=scan.event == "handover"
                     and user.role in RECEIVING_ROLES)
        if scan.event == "handover":
            plan.unit = self._destination(unit, targets[0].item, manifest, plan.receiver)
        elif scan.event == "collected" and unit is None:
            plan.unit = user.unit
        states: dict[int, object] = {}
        for n, t in enumerate(targets):
            # a manifest's code stands for all its items: the first item's event carries the
            # scan's id (so a repeat is a duplicate), the others an id derived from it
            t.client_id = scan.id if n == 0 else f"{scan.id}/{t.item.number}"
            self._judge_item(scan, t, plan.unit, states)
        return plan

    def _unit(self, code: str | None) -> OrgUnit | None:
        code = (code or "").strip()
        if not code:
            return None
        unit = self.known.units.get(code)
        if unit is None:
            raise ScanRejected("unknown_unit", f"không có đơn vị mã {code!r}")
        return unit

    def _targets(self, scan, text: str, kind: str | None):
        known, user = self.known, self.user
        if kind == "s10" and text in known.items:
            item = known.items[text]
            self._check_kind(scan, item)
            return [Target(item)], None
        if kind == "dossier" and text in known.dossiers:
            return [Target(self._item_of(scan, known.dossiers[text]))], None
        if kind == "manifest" and text in known.manifests:
            manifest = known.manifests[text]
            if not (sees_unit(user, manifest.from_unit) or sees_unit(user, manifest.to_unit)):
                raise ScanRejected("wrong_unit", f"bảng kê {text} thuộc đơn vị khác")
            if scan.event not in ("pickup", "handover"):
                raise ScanRejected("not_ready", "bảng kê chỉ dùng để nhận hoặc giao cả túi")
            lines = [ln for ln in manifest.lines if ln.status.value in ("listed", "confirmed")]
            if not lines:
                raise ScanRejected("empty_manifest", f"bảng kê {text} không có bưu gửi")
            return [Target(ln.item) for ln in lines], manifest
        raise ScanRejected("unknown_barcode", f"mã không có trong hệ thống: {scan.barcode!r}")

    def _item_of(self, scan, dossier):
        by_kind = {i.kind: i for i in dossier.items}
        want = scan.item_kind or ("result" if scan.event in RESULT_ONLY else None)
        if want == "folder":
            return self._need(by_kind.get(ItemKind.FOLDER), dossier)
        if want == "result":
            if ItemKind.RESULT not in by_kind:
                raise ScanRejected("not_ready", f"hồ sơ {dossier.code} chưa có kết quả")
            return by_kind[ItemKind.RESULT]
        return self._need(by_kind.get(ItemKind.RESULT) or by_kind.get(ItemKind.FOLDER), dossier)

    @staticmethod
    def _need(item, dossier):
        if item is None:
            raise ScanRejected("unknown_barcode", f"hồ sơ {dossier.code} không có bưu gửi")
        return item

    @staticmethod
    def _check_kind(scan, item) -> None:
        wants_result = scan.item_kind == "result" or scan.event in RESULT_ONLY
        if wants_result and item.kind == ItemKind.FOLDER:
            raise ScanRejected("not_ready", f"{item.number} là túi hồ sơ, kết quả chưa sẵn sàng")
        if scan.item_kind == "folder" and item.kind == ItemKind.RESULT:
            raise ScanRejected("wrong_item", f"{item.number} là kết quả, không phải túi hồ sơ")

    def _destination(self, unit, item, manifest, receiver: bool) -> OrgUnit:
        """Where a handover ends: the scanner's own unit for receiving staff, otherwise the
        unit named, else the manifest's or the item's natural destination."""
        if receiver:
            dest = unit or self.user.unit
            if not sees_unit(self.user, dest):
                raise ScanRejected("wrong_unit", f"không nhận thay đơn vị {dest.code}")
            return dest
        if unit is not None:
            return unit
        if manifest is not None:
            return manifest.to_unit
        dossier = item.dossier
        dest = dossier.agency if item.kind == ItemKind.FOLDER else dossier.unit
        if dest is None:
            raise ScanRejected("unit_required", "cần mã đơn vị nhận (unit_code)")
        return dest

    def _judge_item(self, scan, target: Target, unit, states: dict) -> None:
        item, dossier = target.item, target.item.dossier
        if not _sees_dossier(self.user, dossier):
            raise ScanRejected("wrong_unit", f"{item.number} thuộc đơn vị khác")
        began = max(t for t in (dossier.received_at, dossier.created_at, item.created_at) if t)
        if scan.at < began - CLOCK_SKEW:
            raise ScanRejected("before_existence",
                               f"{item.number} chưa có trước {_local(began)}: kiểm tra đồng hồ "
                               "máy")
        known = self.known
        key = legs.scan_key(scan.event, scan.at, target.client_id)
        terminal = known.terminal.get(item.id)
        if terminal is not None and (scan.event in progress.TERMINAL_EVENTS or key > terminal):
            raise ScanRejected("already_delivered",
                               f"{item.number} đã trả cho công dân lúc {_local(terminal[0])}")
        last = known.last_at.get(item.id)
        if scan.event in progress.TERMINAL_EVENTS and last is not None and last > scan.at:
            raise ScanRejected("out_of_order",
                               f"{item.number} có lần quét sau {_local(scan.at)}: không thể đã trả")
        if (scan.event in DOOR_EVENTS and dossier.return_method != ReturnMethod.HOME
                and not dossier.delivery_attempts):
            # never meant for the door (a result sent back to the counter after failed
            # attempts keeps taking its late-arriving scans)
            raise ScanRejected("counter_return", f"hồ sơ {dossier.code} trả kết quả tại quầy, "
                                                 "không giao tại nhà")
        if scan.event in HANDED_OVER and (problem := recipient_problem(scan.recipient)):
            raise ScanRejected("proof_required", problem)
        target.action = progress.scan_action(scan.event, item.kind, dossier, unit)
        state = states.get(dossier.id, dossier.state)
        latest = key > known.return_key.get(dossier.id, ())
        steps = progress.plan(state, target.action, latest=latest)
        if steps is None:
            raise ScanRejected("not_ready", f"hồ sơ {dossier.code} đang ở trạng thái "
                                            f"{state.value}: chưa thể {scan.event}")
        for action in steps:
            state = next_state(state, action)
        states[dossier.id] = state
        target.steps = steps

    def _judge_pickup(self, scan, pickup, unit):
        from postal.custody.pickups import judge_scan

        problem = judge_scan(self.user, pickup, scan, unit)
        if problem:
            raise ScanRejected(*problem)
        return pickup


def _sees_dossier(user: User, dossier) -> bool:
    """The scope of postal.core.access.scope_dossiers, for a dossier already loaded."""
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.AGENCY:
        return sees_unit(user, dossier.agency)
    return sees_unit(user, dossier.unit) or sees_unit(user, dossier.agency)


def _local(at: datetime) -> str:
    return at.astimezone(TZ).strftime("%d/%m/%Y %H:%M")
