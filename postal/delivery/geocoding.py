"""Geocode delivery addresses behind one interface: Nominatim if configured, else offline."""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol

from geopy import adapters
from geopy.exc import GeocoderServiceError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

logger = logging.getLogger(__name__)

Source = Literal["nominatim", "learned", "ward", "centre", "manual"]
Coordinates = tuple[float, float]
WardPositions = Mapping[str, Coordinates] | Callable[[str], Coordinates | None]

# A miss is remembered this long: OpenStreetMap rarely learns a new address within a day.
MISS_TTL_SECONDS = 24 * 3600.0
# After a failure Nominatim is skipped this long, so a run of 200 stops does not wait 200 time-outs.
COOLDOWN_SECONDS = 60.0


@dataclass(frozen=True)
class GeoResult:
    """A position and where it came from, so the run sheet can flag rough ones."""

    lat: float
    lon: float
    source: Source


class Geocoder(Protocol):
    """Anything that turns an address (and its ward) into a position, or None if it cannot."""

    def geocode(self, address: str, *, ward_code: str | None = None) -> GeoResult | None: ...


def normalise_address(address: str) -> str:
    """Cache key for an address: NFC, case-folded, runs of whitespace collapsed to one space."""
    folded = unicodedata.normalize("NFC", address).casefold()
    return " ".join(unicodedata.normalize("NFC", folded).split())


class NominatimGeocoder:
    """Nominatim through geopy's rate limiter and a cache; a failing service answers None."""

    def __init__(
        self,
        domain: str,
        *,
        scheme: str = "https",
        user_agent: str = "postal",
        timeout: float = 5,
        min_delay_seconds: float = 1.0,
        cache: MutableMapping[str, Any] | None = None,
        country_codes: str | Sequence[str] | None = "vn",
        max_retries: int = 1,
        error_wait_seconds: float = 2.0,
        miss_ttl_seconds: float = MISS_TTL_SECONDS,
        cooldown_seconds: float = COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._nominatim = Nominatim(
            domain=domain,
            scheme=scheme,
            user_agent=user_agent,
            timeout=timeout,
            adapter_factory=_adapter_factory(),
        )
        # The public server's policy is one request a second; the limiter also retries failures.
        self._geocode = RateLimiter(
            self._nominatim.geocode,
            min_delay_seconds=min_delay_seconds,
            max_retries=max_retries,
            error_wait_seconds=max(error_wait_seconds, min_delay_seconds),
            swallow_exceptions=False,
        )
        # Wall-clock expiries, so a persistent cache stays meaningful across restarts.
        self._cache: MutableMapping[str, Any] = {} if cache is None else cache
        self._country_codes = country_codes
        self._miss_ttl = miss_ttl_seconds
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._down_until = -math.inf

    def geocode(self, address: str, *, ward_code: str | None = None) -> GeoResult | None:
        """Look the address up, answering from the cache (hits and recent misses) when possible."""
        key = normalise_address(address)
        if not key:
            return None
        entry = self._cache.get(key)
        if entry is not None:
            if entry[0] == "hit":
                return GeoResult(entry[1], entry[2], "nominatim")
            if self._clock() < entry[1]:
                return None
        if self._clock() < self._down_until:
            return None
        query = " ".join(unicodedata.normalize("NFC", address).split())
        try:
            location = self._geocode(query, exactly_one=True, country_codes=self._country_codes)
        except GeocoderServiceError as exc:
            # The base of GeocoderTimedOut, GeocoderUnavailable and the HTTP error classes;
            # these are not cached, a later call may succeed. The address stays out of the log.
            self._down_until = self._clock() + self._cooldown
            logger.warning("Nominatim failed (%s: %s); falling back", type(exc).__name__, exc)
            return None
        if location is None:
            self._cache[key] = ("miss", self._clock() + self._miss_ttl)
            return None
        self._cache[key] = ("hit", location.latitude, location.longitude)
        return GeoResult(location.latitude, location.longitude, "nominatim")

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        self._nominatim.__exit__(None, None, None)


def _adapter_factory() -> Callable[..., adapters.BaseAdapter] | None:
    """Requests without its own retries: the rate limiter retries, with its delay respected."""
    if not adapters.requests_available:
        return None
    return partial(adapters.RequestsAdapter, max_retries=0)


class LearnedWardPositions:
    """Ward positions learned from past deliveries' GPS fixes; the median shrugs off stray fixes."""

    def __init__(self, *, max_points_per_ward: int = 500) -> None:
        self._points: dict[str, deque[Coordinates]] = {}
        self._max_points = max_points_per_ward
        self._lock = threading.Lock()

    def learn(self, ward_code: str, lat: float, lon: float) -> None:
        """Record where a delivery in the ward was made; the oldest fixes age out."""
        lat, lon = float(lat), float(lon)
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or (lat, lon) == (0.0, 0.0):
            # (0, 0) is what a phone reports without a fix.
            raise ValueError(f"not a GPS position: {lat}, {lon}")
        with self._lock:
            points = self._points.setdefault(ward_code, deque(maxlen=self._max_points))
            points.append((lat, lon))

    def position(self, ward_code: str) -> Coordinates | None:
        """Median of the learned fixes, or None before the first one."""
        with self._lock:
            points = list(self._points.get(ward_code, ()))
        if not points:
            return None
        return (statistics.median(p[0] for p in points), statistics.median(p[1] for p in points))

    def geocode(self, address: str, *, ward_code: str | None = None) -> GeoResult | None:
        """The learned position of the address's ward."""
        position = self.position(ward_code) if ward_code else None
        return None if position is None else GeoResult(position[0], position[1], "learned")


class WardTable:
    """Configured ward coordinates, from a mapping or a lookup function."""

    def __init__(self, positions: WardPositions) -> None:
        self._positions = positions

    def geocode(self, address: str, *, ward_code: str | None = None) -> GeoResult | None:
        """The configured position of the address's ward."""
        if not ward_code:
            return None
        positions = self._positions
        position = positions(ward_code) if callable(positions) else positions.get(ward_code)
        return (
            None if position is None else GeoResult(float(position[0]), float(position[1]), "ward")
        )


class CentreGeocoder:
    """Last resort: the service centre, so a run can always be planned."""

    def __init__(self, centre: Coordinates) -> None:
        self._centre = (float(centre[0]), float(centre[1]))

    def geocode(self, address: str, *, ward_code: str | None = None) -> GeoResult:
        """Always the centre."""
        return GeoResult(self._centre[0], self._centre[1], "centre")


class ChainGeocoder:
    """Ask each geocoder in turn and keep the first answer."""

    def __init__(self, steps: Sequence[Geocoder]) -> None:
        self.steps = tuple(steps)

    def geocode(self, address: str, *, ward_code: str | None = None) -> GeoResult | None:
        """The first step's answer that is not None."""
        for step in self.steps:
            result = step.geocode(address, ward_code=ward_code)
            if result is not None:
                return result
        return None


def build_geocoder(
    config: Mapping[str, Any],
    *,
    ward_positions: WardPositions,
    centre: Coordinates,
    learned: LearnedWardPositions,
    cache: MutableMapping[str, Any] | None = None,
) -> ChainGeocoder:
    """The chain named by GEOCODER: learned → ward → centre, with Nominatim first if "nominatim"."""
    offline: list[Geocoder] = [learned, WardTable(ward_positions), CentreGeocoder(centre)]
    kind = config.get("GEOCODER", "offline")
    if kind == "offline":
        return ChainGeocoder(offline)
    if kind != "nominatim":
        raise ValueError(f"GEOCODER must be 'offline' or 'nominatim', not {kind!r}")
    domain = str(config.get("NOMINATIM_DOMAIN") or "").strip().rstrip("/")
    if not domain:
        raise ValueError("GEOCODER='nominatim' needs NOMINATIM_DOMAIN")
    scheme = str(config.get("NOMINATIM_SCHEME") or "https")
    if "://" in domain:  # a full URL was configured: its scheme wins
        scheme, _, domain = domain.partition("://")
    nominatim = NominatimGeocoder(
        domain,
        scheme=scheme,
        timeout=float(config.get("NOMINATIM_TIMEOUT", 5)),
        cache=cache,
    )
    return ChainGeocoder([nominatim, *offline])
