"""`postal demo`: a year of synthetic one-stop history in Hà Tĩnh, reproducible for a seed."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from itertools import accumulate

from sqlalchemy.orm import Session

from postal.core.errors import ValidationFailed
from postal.core.time import TZ
from postal.deadlines.calendar import WorkCalendar
from postal.deadlines.office import calendar_for
from postal.demo.bulk import (
    first_ids,
    insert_rows,
    load_sequences,
    reset_id_sequences,
    save_sequences,
    serial_counter,
)
from postal.demo.history import Life
from postal.demo.trail import Ids
from postal.demo.world import PASSWORD, World, build_world
from postal.models import utcnow

CHUNK = 5_000  # dossiers generated, then written, at a time
# Turned away at the counter: a supplement slip, or a refusal slip (domain.md, Intake).
P_INCOMPLETE, P_REJECTED = 0.02, 0.005
P_MORNING = 0.58  # citizens come in the morning rather than the afternoon


def seed(session: Session, *, dossiers: int, seed_value: int,
         progress: Callable[[str], object] | None = None, now: datetime | None = None,
         settings: Mapping | None = None) -> str:
    """Create the demo world and `dossiers` dossiers over the year before `now`; flush only."""
    if dossiers < 0:
        raise ValidationFailed("the number of dossiers cannot be negative", field="dossiers")
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    say = progress or (lambda _message: None)
    say("demo: Hà Tĩnh's centres, agencies, procedures and staff…")
    world = build_world(session)
    calendar = calendar_for(session, settings or {})
    rng = random.Random(seed_value)
    before = load_sequences(session, [c.id for c in world.centres])
    lasts = dict(before)
    plans = schedule(rng, world, calendar, now, dossiers, lasts)
    counter = serial_counter(session)
    life = Life(world, calendar, rng, now.astimezone(TZ), Ids(first_ids(session)), counter.last)
    reported = 0
    for start in range(0, len(plans), CHUNK):
        for received_at, centre, proc, outcome, seq in plans[start:start + CHUNK]:
            life.dossier(received_at, world.centres[centre], world.procedures[proc], outcome, seq)
        insert_rows(session, life.flush())
        done = min(start + CHUNK, len(plans))
        if done * 10 // len(plans) > reported:
            reported = done * 10 // len(plans)
            say(f"demo: {done:,} of {len(plans):,} dossiers ({done * 100 // len(plans)}%)")
    counter.last = life.serial
    save_sequences(session, before, lasts)
    reset_id_sequences(session)
    session.flush()
    return summary(world, life.stats, now)


def summary(world: World, s: dict, now: datetime) -> str:
    return (
        f"demo: {s['dossiers']:,} dossiers in the year to {now.astimezone(TZ):%Y-%m-%d} at "
        f"{len(world.centres)} centres of Hà Tĩnh: {s['returned']:,} returned "
        f"({s['home']:,} at home), {s['open']:,} in process, {s['late']:,} resolved late, "
        f"{s['closed']:,} withdrawn or refused; {len(world.procedures)} procedures, "
        f"{world.agencies} agencies, {world.users} staff accounts (password {PASSWORD!r})"
    )


def _working_days(calendar: WorkCalendar, now: datetime) -> list[date]:
    """Working days of the last year on which the office had opened before `now`."""
    first = now.date() - timedelta(days=365)
    days = [first + timedelta(days=i) for i in range(366)]
    days = [d for d in days if calendar.is_working_day(d)]
    if days and days[-1] == now.date() and now.time() <= calendar.hours.open:
        days.pop()
    return days


def schedule(rng: random.Random, world: World, calendar: WorkCalendar, now: datetime, n: int,
             lasts: dict[tuple[int, date], int]) -> list[tuple]:
    """When, where and for what each dossier comes in, in time order, with its day number.

    `lasts` (unit, day) -> last number is advanced in place: numbers continue after those
    already given out, so a second run never repeats a code.
    """
    now = now.astimezone(TZ)
    days = _working_days(calendar, now)
    # a slowly growing workload, with Monday queues
    day_cum = list(accumulate((0.8 + 0.4 * i / len(days)) * (1.15 if d.weekday() == 0 else 1.0)
                              for i, d in enumerate(days)))
    spans = calendar.hours.spans
    centre_cum = list(accumulate(c.weight for c in world.centres))
    proc_cum = list(accumulate(p.weight for p in world.procedures))
    centres, procs = range(len(world.centres)), range(len(world.procedures))
    plans = []
    for i in range(n):
        while True:
            day = rng.choices(days, cum_weights=day_cum)[0]
            s, e = spans[0] if rng.random() < P_MORNING or len(spans) == 1 else spans[1]
            at = datetime.combine(day, time(0), tzinfo=TZ) + s + (e - s) * rng.random()
            at = at.replace(microsecond=0)
            if at < now:
                break
        r = rng.random()
        outcome = ("incomplete" if r < P_INCOMPLETE else
                   "rejected" if r < P_INCOMPLETE + P_REJECTED else "accepted")
        centre = rng.choices(centres, cum_weights=centre_cum)[0]
        proc = rng.choices(procs, cum_weights=proc_cum)[0]
        plans.append((at, i, centre, proc, outcome))
    plans.sort()
    out = []
    for at, _, centre, proc, outcome in plans:
        seq = None
        if outcome == "accepted":
            key = (world.centres[centre].id, at.date())
            seq = lasts[key] = lasts.get(key, 0) + 1
        out.append((at, centre, proc, outcome, seq))
    return out
