"""Order a courier's delivery run: exact when small, else nearest neighbour, 2-opt and Or-opt."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise, permutations
from typing import Protocol

from geopy.distance import EARTH_RADIUS, geodesic

# Up to this many stops every permutation is tried: 8! = 40 320 orders, well under 0.1 s.
EXACT_MAX_STOPS = 8
# One geodesic costs 40-70 µs, so a full matrix stays under ~0.15 s only up to about 60 stops;
# beyond that the optimisation runs on great-circle distances (within 0.5 % of geodesic).
GEODESIC_MATRIX_MAX_STOPS = 60
# 2-opt and Or-opt only try joining a stop to its nearest few: the usual candidate-list pruning.
NEIGHBOURS = 20
# Improvements smaller than a micrometre are rounding noise; ignoring them guarantees termination.
_EPS_KM = 1e-9

Coordinates = tuple[float, float]


class HasLatLon(Protocol):
    """Anything with a latitude and a longitude, such as a delivery item's address."""

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


Stop = Coordinates | HasLatLon


@dataclass(frozen=True)
class RoutePlan:
    """The visiting order as indices into the stops, with its geodesic legs and total."""

    order: list[int]
    total_km: float
    legs_km: list[float]


def plan_route(depot: Stop, stops: Sequence[Stop], *, return_to_depot: bool = True) -> RoutePlan:
    """Order the stops: optimal to 8, geodesic search to 60, haversine above; legs geodesic."""
    points = [_pair(depot), *(_pair(stop) for stop in stops)]
    n = len(points) - 1
    if n == 0:
        return RoutePlan(order=[], total_km=0.0, legs_km=[])
    use_geodesic = n <= GEODESIC_MATRIX_MAX_STOPS
    matrix = _geodesic_matrix(points) if use_geodesic else _haversine_matrix(points)
    _add_end_node(matrix, return_to_depot)
    naive = list(range(n + 2))
    if n <= EXACT_MAX_STOPS:
        route = _exhaustive(matrix, n)
    else:
        neighbours = _neighbour_lists(matrix)
        # Two starts: the greedy one, and the given order, so the plan is never worse than it.
        starts = (_nearest_neighbour(matrix, n), naive[:])
        improved = [_improve(start, matrix, neighbours) for start in starts]
        route = min(improved, key=lambda r: _length(r, matrix))
    legs = _legs(route, matrix, points, use_geodesic, return_to_depot)
    if not use_geodesic:
        # Great-circle and geodesic disagree by up to 0.5 %; keep the promise in geodesic terms.
        naive_legs = _legs(naive, matrix, points, False, return_to_depot)
        if math.fsum(naive_legs) < math.fsum(legs):
            route, legs = naive, naive_legs
    return RoutePlan([node - 1 for node in route[1:-1]], math.fsum(legs), legs)


def naive_total_km(depot: Stop, stops: Sequence[Stop], *, return_to_depot: bool = True) -> float:
    """Geodesic length of visiting the stops in the order given, the baseline a plan must beat."""
    points = [_pair(depot), *(_pair(stop) for stop in stops)]
    if return_to_depot and len(points) > 1:
        points.append(points[0])
    return math.fsum(_geodesic_km(p, q) for p, q in pairwise(points))


def _pair(stop: Stop) -> Coordinates:
    """Read a stop given either as a (lat, lon) pair or as an object with .lat and .lon."""
    if hasattr(stop, "lat") and hasattr(stop, "lon"):
        return (float(stop.lat), float(stop.lon))
    lat, lon = stop
    return (float(lat), float(lon))


def _geodesic_km(p: Coordinates, q: Coordinates) -> float:
    """WGS-84 ellipsoidal distance, the figure the run sheet reports."""
    return 0.0 if p == q else geodesic(p, q).km


def _geodesic_matrix(points: list[Coordinates]) -> list[list[float]]:
    """Symmetric geodesic matrix, one call per unordered pair."""
    m = len(points)
    matrix = [[0.0] * m for _ in range(m)]
    for i in range(m):
        row = matrix[i]
        for j in range(i + 1, m):
            row[j] = matrix[j][i] = _geodesic_km(points[i], points[j])
    return matrix


def _haversine_matrix(points: list[Coordinates]) -> list[list[float]]:
    """Symmetric great-circle matrix on the mean Earth radius, about 1 µs a pair."""
    lats = [math.radians(lat) for lat, _ in points]
    lons = [math.radians(lon) for _, lon in points]
    cos_lats = [math.cos(lat) for lat in lats]
    m = len(points)
    matrix = [[0.0] * m for _ in range(m)]
    sin, asin, sqrt = math.sin, math.asin, math.sqrt
    for i in range(m):
        row, lat_i, lon_i, cos_i = matrix[i], lats[i], lons[i], cos_lats[i]
        for j in range(i + 1, m):
            h = (
                sin((lats[j] - lat_i) / 2) ** 2
                + cos_i * cos_lats[j] * sin((lons[j] - lon_i) / 2) ** 2
            )
            row[j] = matrix[j][i] = 2 * EARTH_RADIUS * asin(sqrt(min(1.0, h)))
    return matrix


def _add_end_node(matrix: list[list[float]], return_to_depot: bool) -> None:
    """Append a fixed end node: a copy of the depot for a round trip, free to reach otherwise."""
    end_row = matrix[0][:] if return_to_depot else [0.0] * len(matrix)
    for row, distance in zip(matrix, end_row, strict=True):
        row.append(distance)
    end_row.append(0.0)
    matrix.append(end_row)


def _length(route: list[int], matrix: list[list[float]]) -> float:
    """Length of a route under the optimisation matrix."""
    return math.fsum(matrix[a][b] for a, b in pairwise(route))


def _legs(
    route: list[int],
    matrix: list[list[float]],
    points: list[Coordinates],
    matrix_is_geodesic: bool,
    return_to_depot: bool,
) -> list[float]:
    """Geodesic legs of a route, read from the matrix when it already holds geodesics."""
    pairs = list(pairwise(route if return_to_depot else route[:-1]))
    if matrix_is_geodesic:
        return [matrix[a][b] for a, b in pairs]
    end = len(points)
    return [_geodesic_km(points[a], points[0 if b == end else b]) for a, b in pairs]


def _exhaustive(matrix: list[list[float]], n: int) -> list[int]:
    """The optimal route by trying every order; the first one found wins ties."""
    end = n + 1
    from_depot, to_end = matrix[0], [row[end] for row in matrix]
    best, best_cost = list(range(n + 2)), math.inf
    for order in permutations(range(1, end)):
        cost = from_depot[order[0]] + to_end[order[-1]]
        for a, b in pairwise(order):
            cost += matrix[a][b]
        if cost < best_cost - _EPS_KM:
            best, best_cost = [0, *order, end], cost
    return best


def _nearest_neighbour(matrix: list[list[float]], n: int) -> list[int]:
    """Greedy start: always drive to the closest unvisited stop, lowest index on ties."""
    route, unvisited = [0], set(range(1, n + 1))
    while unvisited:
        row = matrix[route[-1]]
        nxt = min(unvisited, key=lambda c: (row[c], c))
        unvisited.remove(nxt)
        route.append(nxt)
    route.append(n + 1)
    return route


def _neighbour_lists(matrix: list[list[float]]) -> list[list[int]]:
    """Each node's nearest other nodes, closest first, lowest index on ties."""
    lists = []
    for a, row in enumerate(matrix):
        ranked = sorted(range(len(matrix)), key=lambda c, row=row: (row[c], c))
        lists.append([c for c in ranked if c != a][:NEIGHBOURS])
    return lists


def _improve(route: list[int], matrix: list[list[float]], neighbours: list[list[int]]) -> list[int]:
    """Alternate 2-opt and Or-opt until neither finds a shorter route; both ends stay fixed."""
    pos = [0] * len(route)
    for k, node in enumerate(route):
        pos[node] = k
    while True:
        _two_opt(route, pos, matrix, neighbours)
        if not _or_opt(route, pos, matrix, neighbours):
            return route


def _reverse(route: list[int], pos: list[int], i: int, j: int) -> None:
    """Reverse route[i..j] in place, keeping the position index in step."""
    route[i : j + 1] = route[i : j + 1][::-1]
    for k in range(i, j + 1):
        pos[route[k]] = k


def _two_opt(
    route: list[int], pos: list[int], d: list[list[float]], neighbours: list[list[int]]
) -> None:
    """Replace two crossing edges by two shorter ones, seeding each move from a near neighbour."""
    last = len(route) - 1
    improved = True
    while improved:
        improved = False
        for i in range(last + 1):
            a = route[i]
            if i < last:  # new edges (a, c) and (successor of a, successor of c)
                b = route[i + 1]
                for c in neighbours[a]:
                    if d[a][c] >= d[a][b]:
                        break
                    j = pos[c]
                    if j == last or c == b:
                        continue
                    e = route[j + 1]
                    if d[a][c] + d[b][e] - d[a][b] - d[c][e] < -_EPS_KM:
                        _reverse(route, pos, *((i + 1, j) if j > i else (j + 1, i)))
                        improved = True
                        break
            a = route[i]
            if i > 0:  # new edges (a, c) and (predecessor of a, predecessor of c)
                p = route[i - 1]
                for c in neighbours[a]:
                    if d[a][c] >= d[p][a]:
                        break
                    j = pos[c]
                    if j == 0 or c == p:
                        continue
                    f = route[j - 1]
                    if d[a][c] + d[p][f] - d[p][a] - d[f][c] < -_EPS_KM:
                        _reverse(route, pos, *((j, i - 1) if j < i else (i, j - 1)))
                        improved = True
                        break


def _or_opt(
    route: list[int], pos: list[int], d: list[list[float]], neighbours: list[list[int]]
) -> bool:
    """Move one to three consecutive stops, either way round, next to a near neighbour."""
    last = len(route) - 1
    for length in (1, 2, 3):
        for i in range(1, last - length + 1):
            s0, s1 = route[i], route[i + length - 1]
            p, nx = route[i - 1], route[i + length]
            saved = d[p][s0] + d[s1][nx] - d[p][nx]
            if saved <= _EPS_KM:
                continue
            for head, tail in ((s0, s1), (s1, s0)):
                for c in neighbours[head]:
                    if d[head][c] >= saved:
                        break
                    k = pos[c]
                    if i <= k < i + length:
                        continue
                    # c - head ... tail - after(c), or before(c) - tail ... head - c
                    if k < last and c != p:
                        y = route[k + 1]
                        if d[c][head] + d[tail][y] - d[c][y] < saved - _EPS_KM:
                            _move(route, pos, i, length, k, reverse=head != s0)
                            return True
                    if k > 0 and c != nx:
                        x = route[k - 1]
                        if d[x][tail] + d[head][c] - d[x][c] < saved - _EPS_KM:
                            _move(route, pos, i, length, k - 1, reverse=head == s0)
                            return True
    return False


def _move(
    route: list[int], pos: list[int], i: int, length: int, after: int, *, reverse: bool
) -> None:
    """Cut route[i:i+length] and reinsert it after the node now at position `after`."""
    segment = route[i : i + length]
    if reverse:
        segment.reverse()
    del route[i : i + length]
    at = after + 1 if after < i else after + 1 - length
    route[at:at] = segment
    for k, node in enumerate(route):
        pos[node] = k
