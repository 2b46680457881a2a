"""The demo's fixed world: Hà Tĩnh's centres, agencies, post offices, staff and procedures."""

from __future__ import annotations

import json
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from datetime import time
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.core import accounts
from postal.core.errors import NotFound
from postal.core.reference import add_unit, load_reference_units
from postal.dossiers.catalogue import upsert_procedure
from postal.models import OrgUnit, Role, UnitKind, User

PASSWORD = "postal-demo"
# vietnam-provinces carries no coordinates. Communes are placed near the centre of the district
# they belonged to before the 2025 reform: the GSO numbered communes district by district, so a
# commune's code tells its old district. (first code of the block, lat, lon), approximate.
DISTRICT_ANCHORS = (
    (18070, 18.343, 105.905),  # thành phố Hà Tĩnh
    (18115, 18.533, 105.705),  # thị xã Hồng Lĩnh
    (18133, 18.470, 105.400),  # Hương Sơn
    (18229, 18.520, 105.590),  # Đức Thọ
    (18313, 18.390, 105.450),  # Vũ Quang
    (18343, 18.640, 105.770),  # Nghi Xuân
    (18403, 18.450, 105.770),  # Can Lộc
    (18496, 18.170, 105.710),  # Hương Khê
    (18562, 18.360, 105.840),  # Thạch Hà, Lộc Hà
    (18673, 18.250, 106.000),  # Cẩm Xuyên
    (18754, 18.080, 106.300),  # Kỳ Anh
)
_ANCHOR_STARTS = tuple(a[0] for a in DISTRICT_ANCHORS)
JITTER = 0.08  # degrees (about 9 km) across a district


@dataclass(frozen=True)
class Commune:
    id: int
    code: str
    name: str
    lat: float
    lon: float

    @property
    def is_ward(self) -> bool:
        return self.name.startswith("Phường")


@dataclass(frozen=True)
class Centre:
    """A receiving centre; `same_day_cutoff` lets it stand in for an OrgUnit in due_for()."""

    id: int
    code: str
    ident_code: str
    lat: float
    lon: float
    weight: int
    commune_id: int | None
    commune_agency_id: int  # the People's Committee deciding commune-level procedures
    clerks: tuple[int, ...]
    couriers: tuple[int, ...]
    same_day_cutoff: time | None


@dataclass(frozen=True)
class Proc:
    """A catalogue entry, shaped like a Procedure for due_for()."""

    id: int
    code: str
    field: str
    agency_id: int | None  # None: the receiving centre's People's Committee
    processing_days: int
    processing_hours: int | None
    same_day: bool
    cutoff: time | None
    fee: int
    home_return: bool
    weight: int
    required: tuple[dict, ...]
    optional: tuple[dict, ...]


@dataclass(frozen=True)
class World:
    province_id: int
    centres: tuple[Centre, ...]
    procedures: tuple[Proc, ...]
    communes: tuple[Commune, ...]
    officers: dict[int, tuple[int, ...]]  # agency unit id -> its officers
    users: int
    agencies: int


def near(lat: float, lon: float, code: str, spread: float) -> tuple[float, float]:
    """A fixed point within `spread` degrees of (lat, lon), different for each code."""
    h = zlib.crc32(code.encode())
    lat += ((h & 0xFFFF) / 0xFFFF - 0.5) * spread
    lon += ((h >> 16) / 0xFFFF - 0.5) * spread
    return round(lat, 5), round(lon, 5)


def approximate_position(code: str) -> tuple[float, float]:
    """A commune's approximate position: near the centre of its old district."""
    _, lat, lon = DISTRICT_ANCHORS[max(0, bisect_right(_ANCHOR_STARTS, int(code)) - 1)]
    return near(lat, lon, code, JITTER)


def _data(name: str) -> dict:
    return json.loads(resources.files("postal.demo").joinpath(name).read_text("utf-8"))


def _time(text: str | None) -> time | None:
    return time.fromisoformat(text) if text else None


class _Units:
    """Units by code; adds the missing ones, so a second run reuses the first run's tree."""

    def __init__(self, session: Session, province: OrgUnit) -> None:
        self.session = session
        self.by_code = {province.code: province}

    def get(self, code: str) -> OrgUnit:
        if code not in self.by_code:
            unit = self.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
            if unit is None:
                raise NotFound(f"unknown unit {code!r}")
            self.by_code[code] = unit
        return self.by_code[code]

    def ensure(self, code: str, name: str, kind: UnitKind, parent: OrgUnit, **kw) -> OrgUnit:
        unit = self.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if unit is None:
            unit = add_unit(self.session, code=code, name=name, kind=kind, parent=parent, **kw)
        self.by_code[code] = unit
        return unit


def _place_communes(session: Session, province: OrgUnit) -> tuple[Commune, ...]:
    """Give the province's communes approximate coordinates where they have none."""
    rows = session.scalars(select(OrgUnit).where(
        OrgUnit.kind == UnitKind.COMMUNE, OrgUnit.path.startswith(province.path, autoescape=True),
    ).order_by(OrgUnit.code)).all()
    for unit in rows:
        if unit.lat is None or unit.lon is None:
            unit.lat, unit.lon = approximate_position(unit.code)
    session.flush()
    return tuple(Commune(u.id, u.code, u.name, u.lat, u.lon) for u in rows)


def build_world(session: Session) -> World:
    """Create (or find) the demo's units, procedures and staff in province 42, Hà Tĩnh."""
    load_reference_units(session)
    org = _data("organisation.json")
    province = session.scalar(select(OrgUnit).where(OrgUnit.code == org["province"]))
    if province is None:
        raise NotFound(f"province {org['province']!r} is missing from the reference data")
    communes = _place_communes(session, province)
    units = _Units(session, province)
    agencies = _agencies(units, org)
    placed = _centres(units, org)
    for spec in org["post_offices"]:
        parent = units.get(spec["commune"]) if spec["commune"] else province
        lat = spec["lat"] if "lat" in spec else round(parent.lat - 0.0006, 5)
        lon = spec["lon"] if "lon" in spec else round(parent.lon + 0.0003, 5)
        units.ensure(spec["code"], spec["name"], UnitKind.POST_OFFICE, parent, lat=lat, lon=lon,
                     address=spec.get("address"))
    _create_users(session, units, org["users"])
    staff = session.execute(select(User.id, User.role, User.unit_id)
                            .where(User.active).order_by(User.id)).all()

    def of(role: Role, unit_id: int) -> tuple[int, ...]:
        return tuple(uid for uid, r, u in staff if r == role and u == unit_id)

    # couriers of the provincial centre's post office also serve centres without their own
    spare_couriers = of(Role.COURIER, placed[0][1].id)
    centres = tuple(
        Centre(id=unit.id, code=unit.code, ident_code=unit.dossier_prefix, lat=unit.lat,
               lon=unit.lon, weight=spec["weight"], commune_id=commune.id if commune else None,
               commune_agency_id=committee.id, clerks=of(Role.CLERK, unit.id),
               couriers=of(Role.COURIER, unit.id) or spare_couriers,
               same_day_cutoff=unit.same_day_cutoff)
        for spec, unit, commune, committee in placed
    )
    # the provincial centre's own ward decides the commune-level matters it receives
    procedures = _load_catalogue(session, agencies, placed[0][3])
    agency_ids = {u.id for u in units.by_code.values() if u.kind == UnitKind.AGENCY}
    officers = {a: of(Role.AGENCY, a) for a in agency_ids}
    return World(province.id, centres, procedures, communes, officers, len(staff),
                 len(agency_ids))


def _agencies(units: _Units, org: dict) -> dict[str, OrgUnit]:
    """The provincial departments (sở, ngành), by their key in organisation.json; their
    offices are in the provincial capital."""
    capital = units.get(org["capital"])
    keys: dict[str, OrgUnit] = {}
    for spec in org["agencies"]:
        parent = keys[spec["parent"]] if spec.get("parent") else units.get(org["province"])
        lat, lon = near(capital.lat, capital.lon, spec["code"], 0.02)
        keys[spec["key"]] = units.ensure(spec["code"], spec["name"], UnitKind.AGENCY, parent,
                                         lat=lat, lon=lon)
    return keys


def _centres(units: _Units, org: dict) -> list[tuple[dict, OrgUnit, OrgUnit | None, OrgUnit]]:
    """Each centre with its commune (None for the provincial one) and People's Committee."""
    template = org["commune_agency"]
    placed = []
    for spec in org["centres"]:
        commune = units.get(spec["commune"]) if spec["commune"] else None
        home = commune or units.get(spec["agency_commune"])
        kind, place = home.name.split(" ", 1)
        committee = units.ensure(
            template["code"].format(commune=home.code),
            template["name"].format(commune_name=f"{kind.lower()} {place}"),
            UnitKind.AGENCY, home, lat=home.lat, lon=home.lon)
        lat, lon = spec.get("lat"), spec.get("lon")
        if commune is not None:  # in the People's Committee's building
            lat, lon = round(commune.lat + 0.0004, 5), round(commune.lon + 0.0004, 5)
        parent = commune or units.get(org["province"])
        centre = units.ensure(spec["code"], spec["name"], UnitKind.CENTRE, parent,
                              ident_code=spec["ident_code"], lat=lat, lon=lon,
                              address=spec.get("address"))
        if centre.same_day_cutoff is None:
            centre.same_day_cutoff = _time(org["same_day_cutoff"])
        placed.append((spec, centre, commune, committee))
    return placed


def _create_users(session: Session, units: _Units, specs: list[dict]) -> None:
    existing = set(session.scalars(select(User.username)))
    for spec in specs:
        if spec["username"] not in existing:
            accounts.create_user(session, spec["username"], PASSWORD, spec["role"],
                                 units.get(spec["unit"]), full_name=spec["full_name"])


def _load_catalogue(session: Session, agencies: dict[str, OrgUnit], commune_default: OrgUnit
                    ) -> tuple[Proc, ...]:
    """Upsert the catalogue of catalogue.json; commune-level ones default to Thành Sen's UBND."""
    out = []
    for spec in _data("catalogue.json")["procedures"]:
        commune_level = spec["agency"] == "commune"
        agency = commune_default if commune_level else agencies[spec["agency"]]
        proc = upsert_procedure(
            session, code=spec["code"], name=spec["name"], field=spec["field"], agency=agency,
            processing_days=spec["days"], processing_hours=spec.get("hours"),
            same_day=spec.get("same_day", False), fee=spec["fee"],
            documents=spec["documents"], home_return=spec["home_return"],
        )
        proc.cutoff = _time(spec.get("cutoff"))
        out.append(Proc(
            id=proc.id, code=proc.code, field=proc.field,
            agency_id=None if commune_level else agency.id,
            processing_days=proc.processing_days, processing_hours=proc.processing_hours,
            same_day=proc.same_day, cutoff=proc.cutoff, fee=proc.fee,
            home_return=proc.home_return, weight=spec["weight"],
            required=tuple(d for d in proc.documents if d["required"]),
            optional=tuple(d for d in proc.documents if not d["required"]),
        ))
    session.flush()
    return tuple(out)
