"""The second half of a generated life: the decision, and the result's way back to the citizen."""

from __future__ import annotations

from datetime import datetime, timedelta

from postal.core.time import TZ
from postal.demo import people
from postal.demo.trail import Trail
from postal.demo.world import Centre, Proc
from postal.dossiers.lifecycle import Action as A
from postal.models import ReturnMethod

# Late risk by field: land and building permits run late most often in provincial reports.
LATE_RISK = {"Đất đai": 0.16, "Hoạt động xây dựng": 0.12, "Bảo trợ xã hội": 0.08}
P_DELIVERY_FAILS, P_NEVER_COLLECTED, P_RATED = 0.08, 0.03, 0.78
RATINGS = (1, 2, 3, 4, 5)
RATING_WEIGHTS = ((2, 3, 10, 30, 55), (8, 10, 22, 30, 30))  # resolved in time / late
COMMENTS = {1: "Trả kết quả chậm, phải đi lại nhiều lần", 2: "Chờ lâu",
            3: "Bình thường", 5: "Nhân viên nhiệt tình, chu đáo"}
FAILED_REASONS = ("Không có người nhận", "Sai địa chỉ, không liên lạc được", "Người nhận hẹn lại")


class ReturnSteps:
    """Mixed into Life: needs rng, cal, day, close, communes, after() and office_minutes()."""

    def resolution(self, proc: Proc, first: datetime, due: datetime) -> datetime:
        """When the agency decides: early, on time or late, with field-specific late risk."""
        rng = self.rng
        late = 0.02 if proc.same_day else LATE_RISK.get(proc.field, 0.04)
        if proc.same_day or proc.processing_hours:
            early = 0.15  # possible only when accepted after the cut-off
        else:
            early = 0.6 if proc.processing_days >= 3 else 0.4
        due_day = due.astimezone(TZ).date()
        r = rng.random()
        if r < early:
            limit = datetime.combine(self.cal.add_working_days(due_day, -1), self.close,
                                     tzinfo=TZ)
            room = self.office_minutes(first, limit)
            if room >= 1:
                return self.after(first, room * (1 - rng.random() ** 2))
        if r < 1 - late:
            start = max(first, datetime.combine(due_day, self.cal.hours.open, tzinfo=TZ))
            room = self.office_minutes(start, due)
            if room >= 2:
                return min(due, self.after(start, room * rng.random()))
        days_late = 1 + min(int(rng.expovariate(1 / 2.5)), 40)
        return self.after(max(first, due), self.day * days_late * rng.uniform(0.2, 1.0))

    def appointment(self, resolved: datetime) -> datetime:
        """The new date promised in the letter of apology (close of a working day)."""
        day = self.cal.add_working_days(resolved.astimezone(TZ).date(),
                                        self.rng.choice((0, 0, 1, 2)))
        return datetime.combine(day, self.close, tzinfo=TZ)

    def delivery(self, d: dict, trail: Trail, result: dict, src: int, ready: datetime,
                 centre: Centre, courier: int | None, clerk: int | None, person: tuple) -> None:
        """Delivery runs: up to two attempts, then the result waits at the counter."""
        rng = self.rng
        ward = self.communes[d["delivery_ward_id"]]
        t = ready
        for attempt in range(2):
            t_out = self.after(t, rng.uniform(60, 600))
            t_end = self.after(t_out, rng.uniform(20, 200))
            leg = trail.start(result, "out_for_delivery", t_out, src, None, courier,
                              action=A.OUT_FOR_DELIVERY)
            d["delivery_attempts"] += 1
            lat = round(d["delivery_lat"] + rng.uniform(-0.0003, 0.0003), 6)
            lon = round(d["delivery_lon"] + rng.uniform(-0.0003, 0.0003), 6)
            if rng.random() < P_DELIVERY_FAILS * (1 + 2 * attempt):
                trail.end(leg, "delivery_failed", t_end, unit=ward.id, user=courier,
                          holder=centre.id, to_unit=centre.id, action=A.DELIVERY_FAILED,
                          lat=lat, lon=lon, reason=rng.choice(FAILED_REASONS))
                src, t = centre.id, t_end
                continue
            recipient = self.recipient(person)
            trail.end(leg, "delivered", t_end, unit=ward.id, user=courier, holder=None,
                      action=A.DELIVERED, lat=lat, lon=lon, recipient=recipient)
            d.update(returned_at=t_end, returned_via=ReturnMethod.HOME, collected_by=recipient)
            self.rate(d, trail, t_end, centre.id, None)
            return
        # after the last failed attempt the result goes back to the counter (domain.md)
        self.collect(d, trail, result, t, centre, clerk, person)

    def collect(self, d: dict, trail: Trail, result: dict, ready: datetime, centre: Centre,
                clerk: int | None, person: tuple) -> None:
        """The citizen (or someone they authorised) collects the result at the counter."""
        rng = self.rng
        if rng.random() < P_NEVER_COLLECTED:
            return
        t = self.after(ready, rng.expovariate(1 / (self.day * 1.5)) + rng.uniform(5, 60))
        by = self.recipient(person)
        trail.event("collected", t, centre.id, clerk, item=result, action=A.COLLECTED,
                    collected_by=by)
        result.update(holder_unit_id=None, holder_user_id=None, held_since=t)
        d.update(returned_at=t, returned_via=ReturnMethod.COUNTER, collected_by=by)
        self.rate(d, trail, t, centre.id, clerk)

    def recipient(self, person: tuple) -> str:
        if self.rng.random() < 0.88:
            return person[0]
        return f"{people.full_name(self.rng)[0]} (người nhà)"

    def rate(self, d: dict, trail: Trail, returned: datetime, unit: int,
             clerk: int | None) -> None:
        """A rating on the five-level scale: at the counter right away, or later online."""
        rng = self.rng
        if rng.random() >= P_RATED:
            return
        level = rng.choices(RATINGS, RATING_WEIGHTS[d["timeliness"] == "late"])[0]
        if clerk is not None:
            at = returned + timedelta(minutes=rng.uniform(1, 10))
        else:
            at = returned + timedelta(hours=rng.uniform(0.5, 72))
        at = at.replace(microsecond=0)
        comment = COMMENTS.get(level) if rng.random() < 0.25 else None
        trail.event("rated", at, unit, clerk, level=level)
        d.update(rating=level, rated_at=at, rating_comment=comment)

    def close_(self, d: dict, trail: Trail, kind: str, action: A, at: datetime,
               unit: int, user: int | None, reason: str) -> None:
        """Withdrawn by the citizen, or processing stopped by the agency."""
        trail.event(kind, at, unit, user, action=action, reason=reason)
        d.update(closed_at=at, reason=reason)
