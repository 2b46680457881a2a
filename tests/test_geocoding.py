"""Rules for geocoding: Nominatim on a loopback stub, fall-through, caching and rate limiting."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pytest

from postal.delivery.geocoding import (
    CentreGeocoder,
    ChainGeocoder,
    GeoResult,
    LearnedWardPositions,
    NominatimGeocoder,
    WardTable,
    build_geocoder,
    normalise_address,
)

pytestmark = pytest.mark.filterwarnings("error")

CENTRE = (18.3406, 105.9057)
WARDS = {"28570": (18.35, 105.89), "28573": (18.33, 105.91)}
HIT = [{"lat": "18.34", "lon": "105.90", "display_name": "Số 1 Trần Phú, Hà Tĩnh, Việt Nam"}]


class StubNominatim(ThreadingHTTPServer):
    """Answers /search like Nominatim; `replies` maps a query to JSON, a status code or a delay."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies = {}
        self.requests = []  # (arrival time, query parameters, headers)
        self.released = threading.Event()

    @property
    def domain(self):
        return f"127.0.0.1:{self.server_address[1]}"

    def count(self, q):
        return sum(1 for _, params, _ in self.requests if params.get("q") == [q])

    def handle_error(self, request, client_address):
        pass  # the client hung up on a deliberately slow reply


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        params = parse_qs(url.query)
        self.server.requests.append((time.monotonic(), params, dict(self.headers)))
        reply = self.server.replies.get(params.get("q", [""])[0], [])
        if url.path != "/search":
            reply = 404
        if isinstance(reply, float):
            self.server.released.wait(reply)
            reply = HIT
        status, body = (
            (reply, b"error") if isinstance(reply, int) else (200, json.dumps(reply).encode())
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def server():
    stub = StubNominatim()
    thread = threading.Thread(target=stub.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stub
    stub.released.set()
    stub.shutdown()
    stub.server_close()
    thread.join()


@pytest.fixture
def make_nominatim(server):
    """Build NominatimGeocoders on the stub with test-sized delays; closed at teardown."""
    made = []

    def make(**kwargs):
        kwargs = {
            "scheme": "http",
            "timeout": 2,
            "min_delay_seconds": 0,
            "max_retries": 0,
            **kwargs,
        }
        kwargs.setdefault("error_wait_seconds", kwargs["min_delay_seconds"])
        geocoder = NominatimGeocoder(server.domain, **kwargs)
        made.append(geocoder)
        return geocoder

    yield make
    for geocoder in made:
        geocoder.close()


@pytest.fixture
def learned():
    return LearnedWardPositions()


def chain_with(nominatim, learned):
    return ChainGeocoder([nominatim, learned, WardTable(WARDS), CentreGeocoder(CENTRE)])


def test_hit_returns_nominatim_position(server, make_nominatim):
    server.replies["Số 1 Trần Phú, Hà Tĩnh"] = HIT
    result = make_nominatim().geocode("Số 1 Trần Phú, Hà Tĩnh", ward_code="28570")
    assert result == GeoResult(18.34, 105.90, "nominatim")
    _, params, headers = server.requests[0]
    assert params["countrycodes"] == ["vn"] and params["format"] == ["json"]
    assert headers["User-Agent"] == "postal"


def test_miss_falls_through_to_learned_then_ward_then_centre(server, make_nominatim, learned):
    chain = chain_with(make_nominatim(), learned)
    assert chain.geocode("nowhere", ward_code="99999") == GeoResult(*CENTRE, "centre")
    assert chain.geocode("nowhere", ward_code="28570") == GeoResult(18.35, 105.89, "ward")
    learned.learn("28570", 18.36, 105.88)
    assert chain.geocode("nowhere", ward_code="28570") == GeoResult(18.36, 105.88, "learned")
    assert chain.geocode("nowhere", ward_code=None) == GeoResult(*CENTRE, "centre")


def test_server_error_falls_through_after_the_configured_retries(
    server, make_nominatim, learned, caplog
):
    server.replies["broken"] = 500
    chain = chain_with(make_nominatim(max_retries=1, cooldown_seconds=0), learned)
    assert chain.geocode("broken", ward_code="28573") == GeoResult(18.33, 105.91, "ward")
    assert server.count("broken") == 2
    ours = [r.getMessage() for r in caplog.records if r.name == "postal.delivery.geocoding"]
    assert len(ours) == 1 and "GeocoderServiceError" in ours[0] and "broken" not in ours[0]
    chain.geocode("broken", ward_code="28573")
    assert server.count("broken") == 4  # failures are not cached


def test_timeout_falls_through_without_transport_retries(server, make_nominatim, learned):
    server.replies["slow"] = 5.0
    chain = chain_with(make_nominatim(timeout=0.3), learned)
    started = time.monotonic()
    assert chain.geocode("slow", ward_code=None) == GeoResult(*CENTRE, "centre")
    assert time.monotonic() - started < 2.0
    assert server.count("slow") == 1


def test_after_a_failure_nominatim_rests_for_the_cooldown(server, make_nominatim):
    now = [1000.0]
    server.replies["broken"] = 500
    server.replies["fine"] = HIT
    nominatim = make_nominatim(cooldown_seconds=60, clock=lambda: now[0])
    assert nominatim.geocode("broken") is None
    assert nominatim.geocode("fine") is None
    assert server.count("fine") == 0
    now[0] += 61
    assert nominatim.geocode("fine") == GeoResult(18.34, 105.90, "nominatim")


def test_cached_hit_needs_no_second_request(server, make_nominatim):
    server.replies["Số 1 Trần Phú"] = HIT
    cache = {}
    nominatim = make_nominatim(cache=cache)
    first = nominatim.geocode("Số 1 Trần Phú")
    # Decomposed diacritics, other case and spacing are the same address.
    second = nominatim.geocode("  SỐ 1   TRẦN\tPHÚ ".replace("Ố", "O\u0302\u0301"))
    assert first == second == GeoResult(18.34, 105.90, "nominatim")
    assert len(server.requests) == 1
    assert list(cache) == ["số 1 trần phú"]


def test_miss_is_cached_until_it_expires(server, make_nominatim):
    now = [1000.0]
    nominatim = make_nominatim(miss_ttl_seconds=3600, clock=lambda: now[0])
    assert nominatim.geocode("nowhere") is None
    assert nominatim.geocode("Nowhere") is None
    assert server.count("nowhere") == 1
    now[0] += 3601
    assert nominatim.geocode("nowhere") is None
    assert server.count("nowhere") == 2


def test_rate_limiter_spaces_requests_by_min_delay(server, make_nominatim):
    nominatim = make_nominatim(min_delay_seconds=0.2)
    started = time.monotonic()
    for address in ("a", "b", "c", "d"):
        nominatim.geocode(address)
    assert time.monotonic() - started >= 3 * 0.2
    arrivals = [at for at, _, _ in server.requests]
    assert len(arrivals) == 4
    # Measured at the server, so allow for a little network jitter.
    assert all(later - earlier >= 0.15 for earlier, later in pairwise(arrivals))


def test_learned_position_is_the_median_of_fixes(learned):
    assert learned.position("28570") is None
    for lat, lon in [(18.30, 105.90), (18.31, 105.91), (18.32, 105.92), (10.0, 100.0)]:
        learned.learn("28570", lat, lon)
    assert learned.position("28570") == pytest.approx((18.305, 105.905))


@pytest.mark.parametrize("lat, lon", [(0.0, 0.0), (91.0, 105.0), (18.0, 181.0)])
def test_learning_rejects_impossible_fixes(learned, lat, lon):
    with pytest.raises(ValueError):
        learned.learn("28570", lat, lon)


def test_ward_positions_may_come_from_a_function():
    table = WardTable(lambda code: WARDS.get(code))
    assert table.geocode("x", ward_code="28573") == GeoResult(18.33, 105.91, "ward")
    assert table.geocode("x", ward_code="00000") is None


def test_offline_config_builds_learned_ward_centre_chain(learned):
    geocoder = build_geocoder({}, ward_positions=WARDS, centre=CENTRE, learned=learned)
    assert [type(step) for step in geocoder.steps] == [
        LearnedWardPositions,
        WardTable,
        CentreGeocoder,
    ]
    assert geocoder.geocode("anything", ward_code="28570") == GeoResult(18.35, 105.89, "ward")


def test_nominatim_config_puts_nominatim_first(server, learned):
    server.replies["Trần Phú"] = HIT
    config = {
        "GEOCODER": "nominatim",
        "NOMINATIM_DOMAIN": f"http://{server.domain}/",
        "NOMINATIM_TIMEOUT": "2",
    }
    geocoder = build_geocoder(config, ward_positions=WARDS, centre=CENTRE, learned=learned)
    try:
        assert isinstance(geocoder.steps[0], NominatimGeocoder)
        assert geocoder.geocode("Trần Phú", ward_code="28570") == GeoResult(
            18.34, 105.90, "nominatim"
        )
    finally:
        geocoder.steps[0].close()


@pytest.mark.parametrize("config", [{"GEOCODER": "google"}, {"GEOCODER": "nominatim"}])
def test_bad_geocoder_config_is_refused(config, learned):
    with pytest.raises(ValueError):
        build_geocoder(config, ward_positions=WARDS, centre=CENTRE, learned=learned)


def test_normalised_address_ignores_case_spacing_and_composition():
    assert normalise_address(" Hà  Tĩnh\n") == normalise_address("HA\u0300 TI\u0303NH") == "hà tĩnh"
