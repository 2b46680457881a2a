"""Renderers: functions from domain objects to the bytes of a PDF (or ZPL) the counter prints.

receipt (receipt, folder sticker; slips re-exported), slips, manifest, control_sheet, apology,
labels (layouts from labels/*.toml); pdf, forms and table are the shared drawing toolkit.
"""
