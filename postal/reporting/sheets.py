"""Cells for spreadsheets (CSV and XLSX): what people typed is written as text, never a formula.

OWASP "CSV injection": a spreadsheet reads a cell beginning with =, +, -, @, tab or carriage
return as a formula (or the start of one), so an applicant named `=HYPERLINK(...)` would run in
the manager's Excel. Every export writes its rows through this module: such text gets a leading
single quote, and XLSX text cells are stored as strings. Only text is touched: a number the app
computed (a count, a rate, a negative adjustment) stays a number.

defusedcsv (PyPI) was weighed and not used: it misses tab and CR, rewrites "|" inside the text,
leaves "-5" typed as text alone, and covers CSV only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: Any) -> Any:
    """Text that a spreadsheet would evaluate, prefixed with a single quote; anything else as is."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def restore(value: Any) -> Any:
    """The text `defuse` was given, for reading an export back in (the import format)."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(TRIGGERS):
        return value[1:]
    return value


class _Writer:
    """csv.writer whose every row passes through `defuse`."""

    def __init__(self, out, **options):
        self._writer = csv.writer(out, **options)
        # with LF line ends, csv quotes a field holding LF but not one holding a bare CR,
        # which Excel reads as a line break (a new row whose next cell may be a formula)
        self._quoted = csv.writer(out, **{**options, "quoting": csv.QUOTE_ALL})

    def writerow(self, row: Iterable) -> Any:
        cells = [defuse(v) for v in row]
        if any(isinstance(v, str) and "\r" in v for v in cells):
            return self._quoted.writerow(cells)
        return self._writer.writerow(cells)

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out, *, lineterminator: str = "\n", **options) -> _Writer:
    """A CSV writer for exports (lines end in LF, as the import format's files do)."""
    return _Writer(out, lineterminator=lineterminator, **options)


def xlsx_row(sheet, values: Iterable) -> list:
    """`values` ready for `sheet.append` (normal or write-only): text as string cells, defused;
    openpyxl would otherwise store "=…" as a formula and "#N/A" as an error."""
    from openpyxl.cell import WriteOnlyCell

    row = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, defuse(value))
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row
