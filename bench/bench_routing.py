"""Time ordering a 200-stop run against a floor, so the ratio survives a noisy machine."""

import random
import time

from postal.delivery.routing import naive_total_km, plan_route

STOPS = 200
REPEATS = 5
DEPOT = (18.3406, 105.9057)


def best_of(func, repeats=REPEATS):
    """Fastest of a few runs: noise only ever adds time."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def main():
    """Print one line: routing time, floor time and their ratio."""
    rng = random.Random(200)
    stops = [(rng.uniform(18.0, 18.8), rng.uniform(105.3, 106.2)) for _ in range(STOPS)]
    routing = best_of(lambda: plan_route(DEPOT, stops))
    # The floor: the bare geodesic legs of the given order, the least any plan must compute.
    floor = best_of(lambda: naive_total_km(DEPOT, stops))
    plan = plan_route(DEPOT, stops)
    print(
        f"routing {STOPS} stops: {routing:.2f} s (floor naive-order geodesic {floor:.3f} s, "
        f"ratio {routing / floor:.1f}x; {plan.total_km:.0f} km vs "
        f"{naive_total_km(DEPOT, stops):.0f} km as given)"
    )


if __name__ == "__main__":
    main()
