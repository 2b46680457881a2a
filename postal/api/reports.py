"""API: reports (shared/interfaces.md): the report of domain.md for a unit subtree and period."""

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length
from flask_login import current_user

from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role
from postal.reporting import closing, metrics

bp = APIBlueprint("api_reports", __name__, url_prefix="/api/v1", tag="reports")


class PeriodQuery(Schema):
    # strings, so a bad date is our own 422 naming the field (marshmallow would name it too,
    # but "from > to" needs both)
    from_ = fields.String(required=True, data_key="from", validate=Length(1, 20),
                          metadata={"description": "first day, YYYY-MM-DD (local); days from "
                                                   "2000-01-01 to a year after today"})
    to = fields.String(required=True, validate=Length(1, 20),
                       metadata={"description": "last day, YYYY-MM-DD (inclusive), within the "
                                                "same window"})
    unit = fields.String(load_default=None, validate=Length(1, 40),
                         metadata={"description": "unit code (default: the caller's unit)"})


class Satisfaction(Schema):
    levels = fields.Dict(keys=fields.String(), values=fields.Integer())
    count = fields.Integer()
    satisfied_share = fields.Float(allow_none=True)


class SummaryOut(Schema):
    carried_over = fields.Integer()
    received = fields.Integer()
    received_counter = fields.Integer()
    received_home_pickup = fields.Integer()
    received_online = fields.Integer()
    handled = fields.Integer()
    resolved = fields.Integer()
    resolved_early = fields.Integer()
    resolved_on_time = fields.Integer()
    resolved_late = fields.Integer()
    in_process = fields.Integer()
    in_process_on_time = fields.Integer()
    in_process_overdue = fields.Integer()
    in_process_waiting = fields.Integer()
    withdrawn = fields.Integer()
    returned = fields.Integer()
    returned_home = fields.Integer()
    returned_counter = fields.Integer()
    resolved_rate = fields.Float(allow_none=True)
    in_process_rate = fields.Float(allow_none=True)
    early_rate = fields.Float(allow_none=True)
    on_time_rate = fields.Float(allow_none=True)
    late_rate = fields.Float(allow_none=True)
    home_delivery_rate = fields.Float(allow_none=True)
    satisfaction = fields.Nested(Satisfaction)


@bp.get("/reports/summary")
@roles_required(Role.MANAGER)  # before the query is validated: no login is a 401, not a 422
@bp.input(PeriodQuery, location="query", arg_name="query")
@bp.output(SummaryOut)
@bp.doc(responses=[401, 403, 404, 422])
def summary(query):
    """The report for a unit subtree and a period: a closed month's frozen figures, else live."""
    date_from, date_to = metrics.parse_period(query["from_"], query["to"])
    unit = metrics.visible_unit(db.session, current_user, query["unit"])
    return closing.official(db.session, unit, date_from, date_to)["figures"]
