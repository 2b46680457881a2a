"""Label layouts as data: labels/<name>.toml, read with tomllib and checked before use.

A layout gives the page, the label and its grid on the page, and one box per field, in
millimetres from the label's top-left corner with y downwards (as a designer measures).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

LAYOUT_DIR = Path(__file__).resolve().parents[2] / "labels"
FIELDS = ("barcode", "sender", "recipient_name", "phone", "address", "dossier_code",
          "cod_amount")
ZPL_DPMM = (6, 8, 12, 24)  # the print heads Zebra makes: 152, 203, 300 and 600 dpi
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class Box:
    """Where a field goes on the label (mm, from the top-left) and how its text looks."""

    x: float
    y: float
    w: float
    h: float
    font_size: float
    bold: bool = False
    caption: str = ""  # small title above the value
    prefix: str = ""  # printed before the value on the same line


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    page: tuple[float, float]  # mm
    label: tuple[float, float]  # mm
    columns: int
    rows: int
    margin_left: float
    margin_top: float
    gutter_x: float
    gutter_y: float
    fields: dict[str, Box]
    frame: bool = False
    rules: tuple[tuple[float, float, float, float], ...] = ()
    dpmm: int = 8  # printer resolution for ZPL, dots per mm

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def origin(self, slot: int) -> tuple[float, float]:
        """Top-left corner (mm from the page's top-left) of the slot-th label on a page."""
        row, col = divmod(slot, self.columns)
        return (self.margin_left + col * (self.label[0] + self.gutter_x),
                self.margin_top + row * (self.label[1] + self.gutter_y))


def available_layouts(directory: Path | None = None) -> list[str]:
    """Names of the layouts in labels/, sorted."""
    return sorted(p.stem for p in (directory or LAYOUT_DIR).glob("*.toml"))


def _fail(name: str, problem: str, directory: Path) -> ValueError:
    choices = ", ".join(available_layouts(directory)) or "none"
    return ValueError(f"label layout {name!r}: {problem} (available layouts: {choices})")


def _number(table: dict, key: str, where: str, *, positive: bool = True) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}.{key} must be a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{where}.{key} must be {'positive' if positive else '>= 0'}")
    return float(value)


def _table(data: dict, key: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ValueError(f"missing table [{key}]")
    return value


def _box(name: str, raw, label: tuple[float, float]) -> Box:
    where = f"fields.{name}"
    if not isinstance(raw, dict):
        raise ValueError(f"[{where}] must be a table")
    x, y = (_number(raw, k, where, positive=False) for k in ("x", "y"))
    w, h, size = (_number(raw, k, where) for k in ("w", "h", "font_size"))
    if x + w > label[0] + 1e-6 or y + h > label[1] + 1e-6:
        raise ValueError(f"[{where}] reaches outside the {label[0]:g}×{label[1]:g} mm label")
    texts = {k: raw.get(k, "") for k in ("caption", "prefix")}
    if not all(isinstance(v, str) for v in texts.values()):
        raise ValueError(f"[{where}] caption and prefix must be strings")
    return Box(x, y, w, h, size, bold=bool(raw.get("bold", False)), **texts)


def _parse(name: str, data: dict) -> Layout:
    page, label, grid = _table(data, "page"), _table(data, "label"), _table(data, "grid")
    page_size = (_number(page, "width", "page"), _number(page, "height", "page"))
    label_size = (_number(label, "width", "label"), _number(label, "height", "label"))
    columns, rows = (int(_number(grid, k, "grid")) for k in ("columns", "rows"))
    margins = [_number(grid, k, "grid", positive=False)
               for k in ("margin_left", "margin_top", "gutter_x", "gutter_y")]
    used_w = margins[0] + columns * label_size[0] + (columns - 1) * margins[2]
    used_h = margins[1] + rows * label_size[1] + (rows - 1) * margins[3]
    if used_w > page_size[0] + 1e-6 or used_h > page_size[1] + 1e-6:
        raise ValueError(f"a {columns}×{rows} grid of labels needs {used_w:g}×{used_h:g} mm, "
                         f"more than the {page_size[0]:g}×{page_size[1]:g} mm page")
    fields = _table(data, "fields")
    missing = [f for f in FIELDS if f not in fields]
    if missing:
        raise ValueError(f"missing field boxes: {', '.join(missing)}")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field boxes: {', '.join(unknown)}")
    rules = data.get("rules", {}).get("lines", [])
    if not all(isinstance(r, list) and len(r) == 4 and
               all(isinstance(v, int | float) for v in r) for r in rules):
        raise ValueError("rules.lines must be a list of [x1, y1, x2, y2]")
    dpmm = data.get("zpl", {}).get("dpmm", 8)
    if dpmm not in ZPL_DPMM:
        raise ValueError(f"zpl.dpmm must be one of {ZPL_DPMM}, got {dpmm!r}")
    return Layout(
        name=name, description=str(data.get("description", name)), page=page_size,
        label=label_size, columns=columns, rows=rows, margin_left=margins[0],
        margin_top=margins[1], gutter_x=margins[2], gutter_y=margins[3],
        fields={f: _box(f, fields[f], label_size) for f in FIELDS},
        frame=bool(label.get("frame", False)), rules=tuple(tuple(r) for r in rules), dpmm=dpmm,
    )


def load_layout(name: str, directory: Path | None = None) -> Layout:
    """Read and check labels/<name>.toml; ValueError naming the problem and the choices."""
    directory = directory or LAYOUT_DIR
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _fail(str(name), "not a layout name", directory)
    path = directory / f"{name}.toml"
    if not path.is_file():
        raise _fail(name, "no such layout", directory)
    try:
        return _parse(name, tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(name, f"malformed {path.name}: {exc}", directory) from None
