"""Where delivery addresses are: the geocoder chain of geocoding.py fed from the database.

The offline chain (GEOCODER=offline, the default) answers, in order: the GPS of an earlier
delivery to the very same address; the median GPS of past deliveries in the address's ward
(LearnedWardPositions); the ward's configured coordinates; the centre. With GEOCODER=nominatim
a Nominatim lookup (its answers cached in the geocode_entry table) comes after the exact
address. Every position keeps the name of the step that found it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postal.core.errors import ValidationFailed
from postal.delivery.geocoding import (
    ChainGeocoder,
    GeoResult,
    LearnedWardPositions,
    build_geocoder,
    normalise_address,
)
from postal.models import Dossier, Event, GeocodeEntry, OrgUnit

# Fixes kept per ward when learning its position (the median of the newest ones).
POINTS_PER_WARD = 500
# Coordinates a phone reports without a fix.
NO_FIX = (0.0, 0.0)


def usable_fix(lat: float | None, lon: float | None) -> bool:
    """A real GPS position: both given, on the globe, not the (0, 0) of a phone without a fix."""
    if lat is None or lon is None:
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != NO_FIX


def unit_position(unit: OrgUnit | None) -> tuple[float, float] | None:
    """The unit's coordinates, else the nearest ancestor's that has them."""
    while unit is not None:
        if unit.lat is not None and unit.lon is not None:
            return (unit.lat, unit.lon)
        unit = unit.parent
    return None


def depot_position(unit: OrgUnit) -> tuple[float, float]:
    """Where runs start: the centre, or ValidationFailed if nothing above it has coordinates."""
    position = unit_position(unit)
    if position is None:
        raise ValidationFailed(f"đơn vị {unit.code} chưa có toạ độ (lat/lon): "
                               "quản trị viên cần nhập để lập tuyến", field="unit")
    return position


class GeocodeCache(MutableMapping):
    """NominatimGeocoder's cache kept in geocode_entry rows (source "nominatim")."""

    SOURCE = "nominatim"

    def __init__(self, session: Session):
        self.session = session

    def _row(self, key: str) -> GeocodeEntry | None:
        return self.session.scalar(select(GeocodeEntry).where(
            GeocodeEntry.source == self.SOURCE, GeocodeEntry.key == key[:600]))

    def __getitem__(self, key: str) -> tuple:
        row = self._row(key)
        if row is None:
            raise KeyError(key)
        return ("hit", row.lat, row.lon) if row.found else ("miss", row.expires or 0.0)

    def __setitem__(self, key: str, value: tuple) -> None:
        row = self._row(key) or GeocodeEntry(source=self.SOURCE, key=key[:600])
        if value[0] == "hit":
            row.found, row.lat, row.lon, row.expires = True, value[1], value[2], None
        else:
            row.found, row.lat, row.lon, row.expires = False, None, None, value[1]
        self.session.add(row)

    def __delitem__(self, key: str) -> None:
        row = self._row(key)
        if row is None:
            raise KeyError(key)
        self.session.delete(row)

    def __iter__(self) -> Iterator[str]:
        return iter(self.session.scalars(select(GeocodeEntry.key).where(
            GeocodeEntry.source == self.SOURCE)).all())

    def __len__(self) -> int:
        return self.session.scalar(select(func.count()).select_from(GeocodeEntry).where(
            GeocodeEntry.source == self.SOURCE))


class KnownAddresses:
    """The exact spot of an address a courier has delivered to before (source "learned")."""

    SOURCE = "learned"

    def __init__(self, session: Session, keys: Iterable[str] = ()):
        wanted = {normalise_address(k)[:600] for k in keys}
        rows = session.execute(select(GeocodeEntry.key, GeocodeEntry.lat, GeocodeEntry.lon).where(
            GeocodeEntry.source == self.SOURCE, GeocodeEntry.key.in_(wanted))) if wanted else []
        self._known = {key: (lat, lon) for key, lat, lon in rows}

    def geocode(self, address: str, *, ward_code: str | None = None) -> GeoResult | None:
        found = self._known.get(normalise_address(address)[:600])
        return None if found is None else GeoResult(found[0], found[1], "learned")


def learned_positions(session: Session, ward_ids: Iterable[int]) -> LearnedWardPositions:
    """Each ward's recent delivery fixes (the GPS on "delivered" events, from the door page or
    a phone's scan), oldest first so that the newest are the ones kept."""
    learned = LearnedWardPositions(max_points_per_ward=POINTS_PER_WARD)
    ward_ids = sorted({w for w in ward_ids if w is not None})
    if not ward_ids:
        return learned
    newest = func.row_number().over(partition_by=Dossier.delivery_ward_id,
                                    order_by=Event.at.desc()).label("n")
    fixes = (select(OrgUnit.code.label("ward"), Event.lat, Event.lon, Event.at, newest)
             .join(Dossier, Dossier.id == Event.dossier_id)
             .join(OrgUnit, OrgUnit.id == Dossier.delivery_ward_id)
             .where(Event.kind == "delivered", Event.lat.is_not(None), Event.lon.is_not(None),
                    Dossier.delivery_ward_id.in_(ward_ids))).subquery()
    rows = session.execute(select(fixes.c.ward, fixes.c.lat, fixes.c.lon)
                           .where(fixes.c.n <= POINTS_PER_WARD).order_by(fixes.c.at))
    for ward, lat, lon in rows:
        if usable_fix(lat, lon):
            learned.learn(ward, lat, lon)
    return learned


def run_geocoder(session: Session, config: Mapping[str, Any], dossiers: Sequence[Dossier],
                 depot: tuple[float, float]) -> ChainGeocoder:
    """The chain for these dossiers: known addresses first, then build_geocoder's steps."""
    wards = {d.delivery_ward.code: d.delivery_ward for d in dossiers if d.delivery_ward}
    ward_table = {code: (w.lat, w.lon) for code, w in wards.items()
                  if w.lat is not None and w.lon is not None}
    learned = learned_positions(session, (d.delivery_ward_id for d in dossiers))
    try:
        chain = build_geocoder(config, ward_positions=ward_table, centre=depot, learned=learned,
                               cache=GeocodeCache(session))
    except ValueError as exc:  # a misconfigured GEOCODER: say so rather than fail later
        raise ValidationFailed(f"cấu hình định vị sai: {exc}", field="geocoder") from None
    known = KnownAddresses(session, (d.delivery_address for d in dossiers))
    return ChainGeocoder([known, *chain.steps])


def locate(session: Session, config: Mapping[str, Any], dossiers: Sequence[Dossier],
           depot: tuple[float, float]) -> list[GeoResult]:
    """Geocode each dossier's delivery address and keep the answer on the dossier; a position
    set by hand ("manual") is left as it is."""
    geocoder = run_geocoder(session, config, dossiers, depot)
    results = []
    for dossier in dossiers:
        if dossier.delivery_geo_source == "manual" and dossier.delivery_lat is not None:
            results.append(GeoResult(dossier.delivery_lat, dossier.delivery_lon, "manual"))
            continue
        ward = dossier.delivery_ward.code if dossier.delivery_ward else None
        found = geocoder.geocode(dossier.delivery_address, ward_code=ward)
        found = found or GeoResult(depot[0], depot[1], "centre")
        dossier.delivery_lat, dossier.delivery_lon = found.lat, found.lon
        dossier.delivery_geo_source = found.source
        results.append(found)
    return results


def learn_address(session: Session, dossier: Dossier, lat: float, lon: float) -> None:
    """Remember where the courier stood when delivering to this address (its exact spot next
    time); the ward's learned position follows from the delivered events themselves."""
    if not usable_fix(lat, lon):
        return
    key = normalise_address(dossier.delivery_address)[:600]
    if not key:
        return
    row = session.scalar(select(GeocodeEntry).where(
        GeocodeEntry.source == KnownAddresses.SOURCE, GeocodeEntry.key == key))
    if row is None:
        row = GeocodeEntry(source=KnownAddresses.SOURCE, key=key)
        session.add(row)
    row.found, row.lat, row.lon = True, lat, lon
