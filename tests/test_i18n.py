"""The English catalogue: complete for the current sources, compiled, and used by the app."""

from __future__ import annotations

from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "postal" / "translations"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")


def _messages(catalog) -> dict:
    return {m.id: m.string for m in catalog if m.id}


def _read_po(path: Path):
    with open(path, "rb") as f:
        return read_po(f, locale="en")


def test_catalogue_covers_every_extracted_message(tmp_path):
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"),
                                "-o", str(pot), str(ROOT)])
    extracted = [m.id for m in _read_po(pot) if m.id]
    assert extracted, "extraction found no messages"
    catalog = _read_po(PO)
    translated = {m.id: m for m in catalog if m.id}
    missing = [i for i in extracted if i not in translated or not translated[i].string]
    assert not missing, f"untranslated (run pybabel update, then fill): {missing}"
    fuzzy = [m.id for m in translated.values() if m.fuzzy]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"


def test_compiled_catalogue_matches_po(tmp_path):
    catalog = _read_po(PO)
    fresh = tmp_path / "messages.mo"
    with open(fresh, "wb") as f:
        write_mo(f, catalog)
    with open(fresh, "rb") as f:
        expected = _messages(read_mo(f))
    assert expected == _messages(catalog)
    with open(MO, "rb") as f:
        assert _messages(read_mo(f)) == expected, "messages.mo is stale: run pybabel compile"


def test_login_page_switches_to_english(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Đăng nhập" in page
    assert "Log in" not in page

    assert client.get("/lang/en").status_code == 302
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page
    assert "Password" in page
    assert "Đăng nhập" not in page


def test_the_local_time_filter_shows_what_event_data_holds_without_failing():
    from datetime import UTC, datetime

    from postal.core.time import local

    assert local(datetime(2025, 3, 5, 10, 1, tzinfo=UTC)) == "05/03/2025 17:01"
    assert local("2025-03-05T10:01:00+00:00") == "05/03/2025 17:01"
    assert local(datetime(2025, 3, 5, 10, 1)) == "05/03/2025 17:01"  # naive: stored UTC
    assert local("không phải thời điểm") == "không phải thời điểm"
    assert local("9999-12-31T23:59:00+00:00") == "9999-12-31T23:59:00+00:00"
    assert local(None) == "" and local("") == ""
