"""One dossier's life, planned step by step and cut at `now`: its dossier, item, event, leg rows.

Every state change goes through lifecycle.next_state() (in Trail.event), so a history the
state machine does not allow cannot be generated; steps that would happen after `now` do not
happen, which leaves the recent dossiers in process.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime

from postal.core.codes import format_dossier_code, make_s10
from postal.core.text import fold
from postal.deadlines.calendar import WorkCalendar, due_at, shift_for_pause, timeliness
from postal.deadlines.calendar import working_seconds_between as office_seconds
from postal.demo import people
from postal.demo.returns import ReturnSteps
from postal.demo.trail import Cut, Ids, Rows, Trail
from postal.demo.world import Centre, Commune, Proc, World
from postal.dossiers.intake import due_for
from postal.dossiers.lifecycle import Action as A
from postal.dossiers.lifecycle import State
from postal.models import Channel, ItemKind, ReturnMethod

# S10 service indicator of demo items; the serials come from the counter live intake uses, so
# no item number repeats whatever the indicator.
SERVICE = "ED"
# About one result in six went home where the whole counter moved to postal staff (domain.md).
P_HOME, P_HOME_PICKUP_HOME, P_HOME_ONLINE = 0.12, 0.55, 0.2
P_WITHDRAW_EARLY, P_WITHDRAW, P_STOP = 0.006, 0.008, 0.006
P_SUPPLEMENT, P_ABANDON, P_EXTEND_IF_LATE, P_DIRECT_DELIVERY = 0.06, 0.15, 0.5, 0.2
INCOMPLETE_REASON = "Hồ sơ chưa đủ thành phần theo quy định"
REJECT_REASONS = ("Yêu cầu không thuộc thẩm quyền giải quyết của cơ quan tiếp nhận",
                  "Người nộp không đủ điều kiện thực hiện thủ tục")
WITHDRAW_REASON = "Công dân có đơn xin rút hồ sơ"
STOP_REASONS = ("Hồ sơ không đủ điều kiện giải quyết theo quy định",
                "Quá thời hạn bổ sung hồ sơ mà công dân không bổ sung")
SUPPLEMENT_REASON = "Đề nghị bổ sung, hoàn thiện hồ sơ theo quy định"
OPEN = (State.ACCEPTED, State.PROCESSING, State.WAITING_SUPPLEMENT)


class Life(ReturnSteps):
    """Generates dossiers one after another from one seeded random stream."""

    def __init__(self, world: World, calendar: WorkCalendar, rng: random.Random,
                 now: datetime, ids: Ids, serial: int) -> None:
        self.world, self.cal, self.rng, self.now, self.ids = world, calendar, rng, now, ids
        self.serial = serial  # the last S10 serial used
        self.rows = Rows()
        self.items_by_id: dict[int, dict] = {}
        self.applicants: list[tuple[int, tuple]] = []
        self.day = calendar.hours.working_day.total_seconds() / 60  # office minutes a day
        self.close = calendar.hours.close
        self.communes = {c.id: c for c in world.communes}
        self.stats = dict.fromkeys(("dossiers", "returned", "home", "late", "closed", "open"), 0)

    def flush(self) -> Rows:
        """Hand over the rows gathered so far and start a new chunk."""
        rows, self.rows = self.rows, Rows()
        self.items_by_id.clear()
        return rows

    # -- time ----------------------------------------------------------------------------
    def after(self, at: datetime, minutes: float) -> datetime:
        """The moment `minutes` of office time after `at` (whole seconds)."""
        moment = due_at(self.cal, at, hours=max(minutes, 1.0) / 60)
        return moment.replace(microsecond=0)

    def office_minutes(self, start: datetime, end: datetime) -> float:
        return office_seconds(self.cal, start, end) / 60

    # -- rows ----------------------------------------------------------------------------
    def item(self, dossier_id: int, kind: ItemKind, at: datetime, unit: int) -> dict:
        self.serial += 1
        item = {"id": self.ids.take("item"), "number": make_s10(SERVICE, self.serial),
                "dossier_id": dossier_id, "kind": kind, "created_at": at,
                "holder_unit_id": unit, "holder_user_id": None, "held_since": at}
        self.rows.item.append(item)
        self.items_by_id[item["id"]] = item
        return item

    def applicant(self, centre: Centre) -> tuple[int, tuple]:
        """A returning applicant now and then, otherwise a new one living near the centre."""
        rng = self.rng
        if self.applicants and rng.random() < 0.12:
            return self.applicants[rng.randrange(len(self.applicants))]
        name, female = people.full_name(rng)
        ward = self.home_ward(centre)
        street = people.street(rng, ward=ward.is_ward)
        applicant_id = self.ids.take("applicant")
        self.rows.applicant.append({
            "id": applicant_id, "full_name": name,
            "id_number": people.id_number(rng, female, applicant_id,
                                          born_before=self.now.year - 15),
            "phone": people.mobile(rng), "street": street, "ward_id": ward.id,
            "search_key": fold(f"{name} {street} {ward.name}")[:600],
        })
        self.applicants.append((applicant_id, (name, ward, street)))
        return self.applicants[-1]

    def home_ward(self, centre: Centre) -> Commune:
        """Mostly the centre's own commune; since July 2025 any commune of the province."""
        if centre.commune_id is not None and self.rng.random() < 0.7:
            return self.communes[centre.commune_id]
        return self.rng.choice(self.world.communes)

    # -- one dossier -----------------------------------------------------------------------
    def dossier(self, received_at: datetime, centre: Centre, proc: Proc, outcome: str,
                seq: int | None) -> None:
        """Append the rows of one dossier accepted (or turned away) at `received_at`."""
        rng = self.rng
        dossier_id = self.ids.take("dossier")
        applicant_id, person = self.applicant(centre)
        channel = rng.choices((Channel.COUNTER, Channel.ONLINE, Channel.HOME_PICKUP),
                              (70, 22, 8))[0]
        documents = [dict(x) for x in proc.required]
        documents += [dict(x) for x in proc.optional if rng.random() < 0.4]
        d = dict.fromkeys((
            "code", "state", "delivery_street", "delivery_ward_id", "delivery_lat",
            "delivery_lon", "delivery_geo_source", "reason", "received_at", "due_at",
            "appointment_at", "paused_at", "resumed_at", "resolved_at", "timeliness",
            "returned_at", "returned_via", "collected_by", "closed_at", "rating", "rated_at",
            "rating_comment"))
        d.update(
            # the citizen's QR token is a secret: random, never derived from the seed
            id=dossier_id, token=f"{secrets.token_hex(12)}{dossier_id:08x}",
            unit_id=centre.id, agency_id=proc.agency_id or centre.commune_agency_id,
            procedure_id=proc.id, applicant_id=applicant_id,
            clerk_id=rng.choice(centre.clerks) if centre.clerks else None, channel=channel,
            return_method=ReturnMethod.COUNTER, documents=documents, missing_documents=[],
            fee=0, postal_fee=0, cod_amount=0, created_at=received_at, delivery_attempts=0,
        )
        trail = Trail(self, dossier_id)
        try:
            if outcome == "accepted":
                self.accepted(d, trail, received_at, centre, proc, person, seq)
            else:
                self.turned_away(d, trail, received_at, centre, proc, outcome)
        except Cut:
            pass
        d["state"] = trail.state
        self.rows.dossier.append(d)
        self.count(d)

    def count(self, d: dict) -> None:
        s = self.stats
        s["dossiers"] += 1
        if d["returned_at"] is not None:
            s["returned"] += 1
            s["home"] += d["returned_via"] == ReturnMethod.HOME
        s["late"] += d["timeliness"] == "late"
        s["closed"] += d["closed_at"] is not None
        s["open"] += d["state"] in OPEN

    def turned_away(self, d: dict, trail: Trail, at: datetime, centre: Centre, proc: Proc,
                    outcome: str) -> None:
        """Incomplete (a supplement slip) or rejected at the counter: no code, not accepted."""
        if outcome == "incomplete":
            missing = [self.rng.choice(proc.required)["name"]]
            d["documents"] = [x for x in d["documents"] if x["name"] not in missing]
            d.update(missing_documents=missing, reason=INCOMPLETE_REASON)
            trail.event("incomplete", at, centre.id, d["clerk_id"],
                        action=A.ASK_SUPPLEMENT_AT_INTAKE, missing=missing, reason=d["reason"])
        else:
            d["reason"] = self.rng.choice(REJECT_REASONS)
            trail.event("rejected", at, centre.id, d["clerk_id"], action=A.REFUSE_AT_INTAKE,
                        missing=[], reason=d["reason"])

    def accepted(self, d: dict, trail: Trail, t0: datetime, centre: Centre, proc: Proc,
                 person: tuple, seq: int) -> None:
        """Acceptance, transfer, processing, and the result's way back."""
        rng, unit = self.rng, centre.id
        clerk = d["clerk_id"]
        courier = rng.choice(centre.couriers) if centre.couriers else None
        agency = d["agency_id"]
        officer = rng.choice(self.world.officers.get(agency) or (None,))
        due = due_for(self.cal, proc, centre, t0).replace(microsecond=0)
        d.update(code=format_dossier_code(centre.ident_code, t0.date(), seq), received_at=t0,
                 due_at=due, fee=proc.fee)
        home = self.wants_home(d["channel"], proc)
        if home:
            self.deliver_to(d, person)
        folder = self.item(d["id"], ItemKind.FOLDER, t0, unit)
        trail.event("accepted", t0, unit, clerk, item=folder, action=A.ACCEPT, code=d["code"],
                    due_at=due.isoformat(), return_method=d["return_method"].value,
                    channel=d["channel"].value)
        fate = rng.random()
        if fate < P_WITHDRAW_EARLY:
            at = self.after(t0, rng.uniform(20, 600))
            self.close_(d, trail, "withdrawn", A.WITHDRAW, at, unit, clerk, WITHDRAW_REASON)
            return
        quick = proc.same_day or (proc.processing_hours or 99) <= 8
        # a commune centre sits in its People's Committee's building
        near = centre.commune_id is not None and agency == centre.commune_agency_id
        t_pick = self.after(t0, rng.uniform(5, 60) if quick else rng.uniform(30, 420))
        t_hand = self.after(t_pick, rng.uniform(5, 30) if near else rng.uniform(20, 120))
        leg = trail.start(folder, "pickup", t_pick, unit, agency, courier)
        trail.end(leg, "handover", t_hand, unit=agency, user=officer, holder=agency,
                  receiver=officer, action=A.RECEIVE_AT_AGENCY)
        first = self.after(t_hand, rng.uniform(10, 60))
        if not quick and rng.random() < P_SUPPLEMENT:
            span = max(60.0, 0.5 * self.office_minutes(t_hand, due))
            t_pause = self.after(t_hand, rng.uniform(30, span))
            missing = [rng.choice(proc.required)["name"]]
            trail.event("supplement_requested", t_pause, agency, officer,
                        action=A.REQUEST_SUPPLEMENT, missing=missing, reason=SUPPLEMENT_REASON)
            d.update(paused_at=t_pause, missing_documents=missing, reason=SUPPLEMENT_REASON)
            if rng.random() < P_ABANDON:
                at = self.after(t_pause, self.day * rng.uniform(15, 30))
                self.close_(d, trail, "refused", A.STOP, at, agency, officer, STOP_REASONS[1])
                return
            t_back = self.after(t_pause, self.day * rng.uniform(0.5, 8))
            # the clock stops while waiting; the time already used still counts (domain.md)
            due = shift_for_pause(self.cal, due, t_pause, t_back)
            trail.event("supplement_received", t_back, unit, clerk,
                        action=A.SUPPLEMENT_RECEIVED, due_at=due.isoformat())
            d.update(resumed_at=t_back, due_at=due)
            first = self.after(t_back, rng.uniform(60, 300))
        t_res = self.resolution(proc, first, due)
        if fate < P_WITHDRAW_EARLY + P_WITHDRAW + P_STOP:
            at = self.after(first, max(1.0, self.office_minutes(first, t_res)) * rng.random())
            if fate < P_WITHDRAW_EARLY + P_WITHDRAW:
                self.close_(d, trail, "withdrawn", A.WITHDRAW, at, unit, clerk, WITHDRAW_REASON)
            else:
                self.close_(d, trail, "refused", A.STOP, at, agency, officer, STOP_REASONS[0])
            return
        room = self.office_minutes(first, due)
        if t_res > due and room > 2 and rng.random() < P_EXTEND_IF_LATE:
            # an extension with a letter of apology; the dossier still counts as late
            appointment = self.appointment(t_res)
            trail.event("extended", self.after(first, room * rng.uniform(0.5, 0.95)), agency,
                        officer, action=A.EXTEND, appointment_at=appointment.isoformat())
            d["appointment_at"] = appointment
        trail.check(t_res)
        result = self.item(d["id"], ItemKind.RESULT, t_res, agency)
        trail.event("result_ready", t_res, agency, officer, item=result, action=A.RESULT_READY)
        d.update(resolved_at=t_res, timeliness=timeliness(t_res, due))
        if home and rng.random() < P_DIRECT_DELIVERY:  # straight from the agency to a run
            self.delivery(d, trail, result, agency, t_res, centre, courier, clerk, person)
            return
        t_rp = self.after(t_res, rng.uniform(15, 90) if near else rng.uniform(30, 480))
        t_rc = self.after(t_rp, rng.uniform(5, 30) if near else rng.uniform(20, 120))
        leg = trail.start(result, "pickup", t_rp, agency, unit, courier)
        trail.end(leg, "handover", t_rc, unit=unit, user=clerk, holder=unit, receiver=clerk,
                  action=A.RESULT_AT_CENTRE)
        if home:
            self.delivery(d, trail, result, unit, t_rc, centre, courier, clerk, person)
        else:
            self.collect(d, trail, result, t_rc, centre, clerk, person)

    def wants_home(self, channel: Channel, proc: Proc) -> bool:
        if not proc.home_return:
            return False
        p = {Channel.HOME_PICKUP: P_HOME_PICKUP_HOME, Channel.ONLINE: P_HOME_ONLINE}
        return self.rng.random() < p.get(channel, P_HOME)

    def deliver_to(self, d: dict, person: tuple) -> None:
        """Home return to the applicant's address (sometimes a relative's), with a GPS point."""
        rng = self.rng
        _, ward, street = person
        if rng.random() < 0.1:
            ward = rng.choice(self.world.communes)
            street = people.street(rng, ward=ward.is_ward)
        d.update(return_method=ReturnMethod.HOME, delivery_street=street,
                 delivery_ward_id=ward.id, delivery_geo_source="ward",
                 delivery_lat=round(ward.lat + rng.uniform(-0.01, 0.01), 6),
                 delivery_lon=round(ward.lon + rng.uniform(-0.01, 0.01), 6),
                 postal_fee=rng.choice((22000, 25000, 30000)),
                 cod_amount=d["fee"] if d["channel"] == Channel.ONLINE else 0)
