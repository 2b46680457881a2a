"""Every dossier the tests and benchmarks build, in one place.

- `make_dossier`: one dossier stored through the models (code, token, applicant, its folder and
  its "accepted" event unless asked otherwise); the state follows from the dates given.
- `paper_dossier`, `paper_manifest`: objects in memory only, with every relation the papers
  print, for the renderers (no database).
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from postal.core.codes import make_s10
from postal.core.time import TZ
from postal.deadlines.calendar import timeliness
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import (
    Applicant,
    Channel,
    Dossier,
    Event,
    Item,
    ItemKind,
    Manifest,
    ManifestLine,
    OrgUnit,
    Procedure,
    ReturnMethod,
    Role,
    UnitKind,
    User,
)


def local(month, day, hour=9, minute=0, year=2025) -> datetime:
    """A Hà Nội wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def _state_from(returned, closed, resolved, paused, resumed) -> State:
    return (State.RETURNED if returned else State.WITHDRAWN if closed
            else State.AWAITING_RETURN if resolved
            else State.WAITING_SUPPLEMENT if paused and not resumed else State.PROCESSING)


_serials = itertools.count(1)


def make_dossier(unit, procedure, code=None, *, state=None, name="Nguyễn Văn An",
                 phone="0905123456", street="12 Trần Phú", return_method="counter",
                 channel="counter", received=..., due=..., resolved=None, returned=None,
                 closed=None, paused=None, resumed=None, appointment=None, rating=None,
                 rated=None, attempts=0, with_items=True, commit=True) -> Dossier:
    """One accepted dossier of `unit`, stored. Without `state`, it follows from the dates:
    returned, withdrawn (closed), awaiting return (resolved), waiting for a supplement (paused
    and not resumed), else processing. Received and due default to 3 and 6 March 2025 (None is
    kept: a dossier withdrawn before it was received). `with_items` adds its folder (at the
    agency once past acceptance) and its "accepted" event; `commit=False` only adds it to the
    session (many dossiers, one flush)."""
    received = local(3, 3, 8) if received is ... else received
    due = local(3, 6, 17) if due is ... else due
    code = code or f"{unit.dossier_prefix}-250303-{next(_serials) % 10_000:04d}"
    state = state or _state_from(returned, closed, resolved, paused, resumed)
    applicant = Applicant(full_name=name, phone=phone, street=street, search_key=name.lower())
    dossier = Dossier(
        code=code, token=secrets.token_urlsafe(16), unit_id=unit.id, procedure_id=procedure.id,
        agency_id=procedure.agency_id, applicant=applicant, state=state, channel=channel,
        return_method=return_method, delivery_street=street if return_method == "home" else None,
        received_at=received, due_at=due, appointment_at=appointment, resolved_at=resolved,
        timeliness=timeliness(resolved, due) if resolved else None, returned_at=returned,
        returned_via=return_method if returned else None, closed_at=closed, paused_at=paused,
        resumed_at=resumed, rating=rating, rated_at=rated, delivery_attempts=attempts,
        documents=[], missing_documents=[],
    )
    db.session.add(dossier)
    if with_items:
        db.session.flush()
        # past acceptance the folder went to the agency that decides (procedure.agency)
        holder = unit.id if state == State.ACCEPTED else procedure.agency_id or unit.id
        db.session.add(Item(number=f"RR{uuid.uuid4().int % 10**8:08d}0VN", dossier=dossier,
                            kind=ItemKind.FOLDER, created_at=received, holder_unit_id=holder,
                            held_since=received))
        db.session.add(Event(kind="accepted", dossier_id=dossier.id, at=received,
                             recorded_at=received, unit_id=unit.id,
                             data={"from": "new", "to": "accepted"}))
    if commit:
        db.session.commit()
    return dossier


# ---- in memory, for the renderers ---------------------------------------------------------

NAME = "Nguyễn Thị Hồng Nhung"
WARD = "Phường Thành Sen"
RECEIVED = datetime(2025, 7, 3, 1, 15, tzinfo=UTC)  # 08:15 in Hà Nội time
DUE = datetime(2025, 7, 8, 10, 0, tzinfo=UTC)  # 17:00 local
DOCUMENTS = [
    {"id": "d1", "name": "Tờ khai cấp bản sao trích lục hộ tịch", "required": True},
    {"id": "d2", "name": "Giấy uỷ quyền (nếu nộp thay)", "required": False},
    {"id": "d3", "name": "Bản sao Căn cước công dân", "required": True},
]


def units() -> dict[str, OrgUnit]:
    province = OrgUnit(id=1, code="42", name="Tỉnh Hà Tĩnh", kind=UnitKind.PROVINCE, path="/42/")
    ward = OrgUnit(id=2, code="18304", name=WARD, kind=UnitKind.COMMUNE, parent=province,
                   path="/42/18304/")
    centre = OrgUnit(id=3, code="TTHCC", name="Trung tâm Phục vụ hành chính công tỉnh Hà Tĩnh",
                     kind=UnitKind.CENTRE, parent=province, ident_code="000.00.42.H26",
                     path="/42/TTHCC/")
    agency = OrgUnit(id=4, code="STP", name="Sở Tư pháp tỉnh Hà Tĩnh", kind=UnitKind.AGENCY,
                     parent=province, path="/42/STP/")
    return {"province": province, "ward": ward, "centre": centre, "agency": agency}


def paper_dossier(*, seq: int = 1, name: str = NAME, accepted: bool = True,
                 return_method: ReturnMethod = ReturnMethod.HOME, documents=None,
                 serial: int | None = None, unit_map: dict | None = None) -> Dossier:
    """An accepted (or not) dossier with applicant, clerk, procedure and a folder item."""
    u = unit_map or units()
    applicant = Applicant(full_name=name, id_number="042190001234", phone="0912345678",
                          street="Số 12 đường Hà Huy Tập", ward=u["ward"])
    procedure = Procedure(code="1.001234", name="Cấp bản sao trích lục hộ tịch",
                          agency=u["agency"], processing_days=3, fee=8000)
    clerk = User(username="clerk1", full_name="Trần Văn An", role=Role.CLERK)
    dossier = Dossier(
        id=1000 + seq, token=f"tok{seq:05d}", unit=u["centre"], agency=u["agency"],
        procedure=procedure, applicant=applicant, clerk=clerk, channel=Channel.COUNTER,
        state=State.ACCEPTED if accepted else State.INCOMPLETE, return_method=return_method,
        delivery_street="Số 12 đường Hà Huy Tập", delivery_ward=u["ward"],
        documents=DOCUMENTS if documents is None else documents, missing_documents=[],
        fee=8000, postal_fee=25000, cod_amount=33000, created_at=RECEIVED,
        code=f"000.00.42.H26-250703-{seq:04d}" if accepted else None,
        received_at=RECEIVED if accepted else None, due_at=DUE if accepted else None,
    )
    if accepted:
        Item(number=make_s10("RR", serial if serial is not None else 12_340_000 + seq),
             kind=ItemKind.FOLDER, dossier=dossier)
    return dossier


def paper_manifest(count: int = 3) -> Manifest:
    """A handover manifest from the centre to the agency holding `count` folders."""
    u = units()
    manifest = Manifest(code="BK-000.00.42.H26-250703-001", from_unit=u["centre"],
                        to_unit=u["agency"], created_at=RECEIVED + timedelta(hours=2),
                        created_by=User(username="clerk1", full_name="Trần Văn An",
                                        role=Role.CLERK))
    for seq in range(1, count + 1):
        dossier = paper_dossier(seq=seq, unit_map=u)
        ManifestLine(manifest=manifest, item=dossier.items[0])
    return manifest


