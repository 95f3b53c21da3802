"""audit.xlsx: one sheet per table of the pack (tables.py), a header row, then one row per table row.

Numbers are numeric cells (full precision; the number format only shows them rounded), text is
text: a value starting with = + - @ is written as a string cell, never as a formula, and the small-n
label ("n<5") is text where a figure is suppressed. No formulas anywhere.
"""

from __future__ import annotations

import io

from .tables import INT, NUM, P, SHARE, STAT, Table

NUMBER_FORMATS = {INT: "0", NUM: "0.000", SHARE: "0.0%", P: "0.0000", STAT: "0.000"}


def workbook_bytes(tables: list[Table], manifest: dict | None = None) -> bytes:
    """The workbook; ``manifest`` (the pack's manifest.json) goes into the document properties
    (title, run, waves, snapshot, config hash), so a copied workbook still says where it came from."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    if manifest:
        waves = manifest["waves"]
        wb.properties.title = f"Satisfaction audit {waves['from']} to {waves['to']}"
        wb.properties.identifier = manifest["run_id"]
        wb.properties.description = (
            f"Run {manifest['run_id']}; source {manifest['source']}; snapshot {manifest['snapshot']['id']}; "
            f"config hash {manifest['config_hash']}; code {manifest['code_version']}; small_n {manifest['small_n']}. "
            f"One sheet per table of audit.html; see docs/audit.md.")
    for table in tables:
        ws = wb.create_sheet(table.name)
        for j, col in enumerate(table.columns, start=1):
            cell = ws.cell(row=1, column=j, value=col.header)
            cell.data_type = "s"
            cell.font = Font(bold=True)
            ws.column_dimensions[get_column_letter(j)].width = max(10, min(60, len(col.header) + 2))
        for i, row in enumerate(table.rows, start=2):
            for j, col in enumerate(table.columns, start=1):
                value = row.get(col.key)
                if value is None:
                    continue
                cell = ws.cell(row=i, column=j)
                if isinstance(value, bool):
                    cell.value = "yes" if value else "no"
                    cell.data_type = "s"
                elif isinstance(value, (int, float)):
                    cell.value = int(value) if col.kind == INT else float(value)
                    cell.number_format = NUMBER_FORMATS.get(col.kind, "General")
                else:
                    cell.value = str(value)
                    cell.data_type = "s"  # text stays text, even '=...' (never a formula)
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
