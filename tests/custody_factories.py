"""Fixtures of the custody tests (load with pytest_plugins = ["custody_factories"])."""

from __future__ import annotations

import pytest
from custody_support import World

from postal.models import UnitKind


@pytest.fixture
def world(app, centre, agency, make_unit, make_user, make_procedure) -> World:
    other = make_unit(UnitKind.CENTRE, code="TTHCC-KHAC", name="Trung tâm HCC khác",
                      ident_code="000.00.99.H26")
    w = World(
        centre=centre, agency=agency, other_centre=other,
        clerk=make_user("clerk", username="clerk1"),
        courier=make_user("courier", username="courier1"),
        courier2=make_user("courier", username="courier2"),
        officer=make_user("agency", unit=agency, username="officer1"),
        manager=make_user("manager", username="manager1"),
        other_courier=make_user("courier", unit=other, username="courier9"),
        procedure=make_procedure(),
    )
    return w
