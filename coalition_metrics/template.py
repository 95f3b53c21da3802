"""`coalition template`: prevention at the source.

``--xlsx PATH`` writes a blank workbook with every tab of the data contract, its headers, drop-downs
for the enumerated columns and the 1-5 scales (on whole columns), date-formatted date columns, id drop-downs that read
from the members, meetings and goals tabs, and a first tab that explains each tab in plain words.
``--sheet URL_OR_KEY`` adds the missing tabs and header cells (with the same drop-downs) to a Google
Sheet. It only writes header cells that are empty, after the last used header of a tab, and tabs
that do not exist yet; it never writes, clears or reformats a cell that holds data.

The spec (``template_spec``) is built from the data contract and the config, so the template
always matches what validation expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import parsing
from .contract import ENUMS, columns_of, headers_of
from .sources import a1_tab, column_letter

ABOUT_TITLE = "About"
ROWS = 2000  # rows of a tab the template adds to a Google Sheet (its grid grows as rows are added)
XLSX_LAST_ROW = 1048576  # an .xlsx sheet's last row: drop-downs cover whole columns below the header

TAB_HELP = {
    "members": ("One row per member organization.",
                "member_id is a short code you choose (M01, M02...) and never reuse; joined_on is the date the "
                "organization joined; fill left_on when it leaves (leave it blank while it is a member)."),
    "meetings": ("One row per meeting held (calls, in-person meetings, committee meetings, events).",
                 "meeting_id is a code you choose (e.g. WC-2026-07-07); kind says which cadence it belongs to; "
                 "facilitator_id is the member who ran it."),
    "attendance": ("One row per member per meeting: who was present, absent or excused.",
                   "Pick the meeting and member from the drop-downs. A member with no row for a meeting they were "
                   "expected at counts as absent. (A grid with one row per member and one column per meeting id, "
                   "cells P/A/E or x, is accepted too.)"),
    "survey": ("The member survey: link your Google Form's response sheet here, or paste its rows.",
               "One column per question, answers 1-5 (or labels like 'Agree'). The Organization column says who "
               "answered; the latest answer per member and quarter counts."),
    "tasks": ("One row per task or action item.",
              "owner_id does the work, accountable_id answers for it; completed_on stays blank until it is done; "
              "goal_id (optional) names the goal the task serves."),
    "goals": ("One row per coalition goal.",
              "baseline is where you started (on baseline_on), target where you aim to be by target_on; "
              "direction says whether the number should go up (increase) or down (decrease)."),
    "goal_measurements": ("One row each time a goal's number is measured.",
                          "value is in the goal's unit; measured_on is the date the number refers to."),
    "milestones": ("One row per milestone or win worth reporting.",
                   "kind is quick_win, policy_win, media, funding or other; member_ids lists the members involved "
                   "(M01;M03)."),
}

# Id columns whose drop-down lists the ids of another tab: column -> (tab, its id column).
ID_LISTS = {
    ("attendance", "meeting_id"): ("meetings", "meeting_id"),
    ("attendance", "member_id"): ("members", "member_id"),
    ("meetings", "facilitator_id"): ("members", "member_id"),
    ("tasks", "owner_id"): ("members", "member_id"),
    ("tasks", "accountable_id"): ("members", "member_id"),
    ("tasks", "goal_id"): ("goals", "goal_id"),
    ("goal_measurements", "goal_id"): ("goals", "goal_id"),
}


@dataclass
class ColumnSpec:
    header: str
    kind: str  # text | id | date | timestamp | number | enum | likert
    required: bool
    choices: list[str] = field(default_factory=list)  # drop-down values (enums, scales)
    id_list: tuple[str, str] | None = None  # (tab title, column letter) whose ids the drop-down lists
    note: str = ""


@dataclass
class TabSpec:
    name: str
    title: str
    columns: list[ColumnSpec]
    purpose: str
    how: str


def template_spec(settings) -> list[TabSpec]:
    specs = []
    for name in ("members", "meetings", "attendance", "survey", "tasks", "goals", "goal_measurements", "milestones"):
        headers = headers_of(name, settings)
        cols = []
        for col in columns_of(name, settings):
            choices = list(ENUMS[col.enum]) if col.kind == "enum" and col.enum else []
            if col.kind == "likert":
                choices = answer_choices(settings.instrument.item(col.name))
            ref = ID_LISTS.get((name, col.name))
            id_list = (settings.tabs[ref[0]], "A") if ref else None  # ids are column A of a template tab
            cols.append(ColumnSpec(headers[col.name], col.kind, col.required, choices, id_list))
        purpose, how = TAB_HELP[name]
        specs.append(TabSpec(name, settings.tabs[name], cols, purpose, how))
    return specs


def answer_choices(item) -> list[str]:
    """A survey item's drop-down: '1 - Strongly disagree' .. '5 - Strongly agree' when it has labels
    (validation reads the number and the label), else the numbers of its scale. Labels a list
    validation cannot hold (a comma or a quote in one, or more than 255 characters in all) fall back
    to the numbers."""
    numbers = [str(v) for v in range(item.scale_min, item.scale_max + 1)]
    if not item.labels:
        return numbers
    labelled = [f"{n} - {label}" for n, label in zip(numbers, item.labels)]
    if any("," in c or '"' in c for c in labelled) or len(",".join(labelled)) > 255:
        return numbers
    return labelled


def about_rows(specs: list[TabSpec], settings) -> list[list[str]]:
    """The first tab's text: what each tab is for, in plain words, and the rules that apply to all."""
    rows = [
        [f"{template_title(settings)}"],
        ["Each tab below feeds the quarterly report. Keep one header row (row 1) and one record per row; "
         "do not merge cells or add title rows. Required columns are marked * in the list below."],
        ["Dates: type them as dates (2026-07-01, or the sheet's own date format). Blank rows are skipped. "
         "Run `coalition validate` to get a list of any rows that need fixing."],
        [],
        ["Tab", "What it holds", "How to fill it in", "Columns (* = required)"],
    ]
    for spec in specs:
        cols = ", ".join(c.header + ("*" if c.required else "") for c in spec.columns)
        rows.append([spec.title, spec.purpose, spec.how, cols])
    return rows


def template_title(settings) -> str:
    """The About tab's title: the coalition's name when the config gives one. The bundled example's
    name is the default of [coalition] name, so a template written without a config (or with one
    that names no coalition) carries no example name."""
    from .config import DEFAULTS

    name = settings.coalition_name.strip()
    if not name or name == DEFAULTS["coalition"]["name"]:
        return "Coalition records"
    return f"{name}: coalition records"


def _as_text(cell) -> None:
    """Config text (a coalition name, a question) lands as a string cell, never as a formula,
    whatever it starts with ('=', '+', '-', '@')."""
    if isinstance(cell.value, str):
        cell.data_type = "s"


# ----------------------------------------------------------------------------------------------
def write_xlsx(path, settings) -> None:
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from .errors import CoalitionError

    specs = template_spec(settings)
    wb = openpyxl.Workbook()
    about = wb.active
    about.title = ABOUT_TITLE
    for row in about_rows(specs, settings):
        about.append(row)
    for row in about.iter_rows():
        for cell in row:
            _as_text(cell)
    about["A1"].font = Font(bold=True, size=14)
    for cell in about[5]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (20, 45, 70, 70)):
        about.column_dimensions[letter].width = width
    for row in about.iter_rows(min_row=6):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    header_fill = PatternFill("solid", fgColor="DDE7F0")
    for spec in specs:
        ws = wb.create_sheet(spec.title)
        ws.append([c.header for c in spec.columns])
        for cell in ws[1]:
            _as_text(cell)
        ws.freeze_panes = "A2"
        for i, col in enumerate(spec.columns, start=1):
            letter = get_column_letter(i)
            cell = ws.cell(row=1, column=i)
            cell.font = Font(bold=True)
            cell.fill = header_fill
            ws.column_dimensions[letter].width = max(12, min(40, len(col.header) + 2))
            rng = f"{letter}2:{letter}{XLSX_LAST_ROW}"  # the whole column below the header
            dv = _xlsx_validation(col, DataValidation)
            if dv is not None:
                ws.add_data_validation(dv)
                dv.add(rng)
            if col.kind in ("date", "timestamp"):
                # A column format: every row a person adds is a date cell; the header keeps its own style.
                ws.column_dimensions[letter].number_format = "yyyy-mm-dd" if col.kind == "date" else "yyyy-mm-dd hh:mm:ss"
    try:
        wb.save(path)
    except OSError as exc:
        raise CoalitionError(f"Could not write the template to {path}: {exc.strerror}.") from None


def _xlsx_validation(col: ColumnSpec, DataValidation):
    if col.choices:
        dv = DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"', allow_blank=True,
                            showDropDown=False)
        dv.error, dv.errorTitle = f"Pick one of: {', '.join(col.choices)}", col.header
        dv.showErrorMessage = True
        return dv
    if col.id_list:
        tab, letter = col.id_list
        dv = DataValidation(type="list", formula1=f"={a1_tab(tab)}!${letter}$2:${letter}${XLSX_LAST_ROW}",
                            allow_blank=True)
        dv.error, dv.errorTitle = f"Use an id from the {tab} tab.", col.header
        dv.showErrorMessage = True
        return dv
    if col.kind in ("date", "timestamp"):
        # A date from 1990-01-01 (serial 32874) on; typing text is refused with this message.
        dv = DataValidation(type="date", operator="greaterThanOrEqual", formula1="32874", allow_blank=True)
        dv.error, dv.errorTitle = "Enter a date, e.g. 2026-07-01.", col.header
        dv.showErrorMessage = True
        return dv
    return None


# ----------------------------------------------------------------------------------------------
@dataclass
class SheetChange:
    tab: str
    created: bool
    headers_added: list[str]


def update_sheet(key: str, settings) -> list[SheetChange]:
    """Add the missing tabs and header cells, with drop-downs, to a Google Sheet. Existing cells
    that hold anything are never written; drop-downs and formats go only on the added columns."""
    import google.auth.exceptions
    from gspread.exceptions import APIError

    from .errors import SourceError
    from .sources.sheets import GoogleSheetSource, READWRITE_SCOPES

    s = settings.data["source"]
    src = GoogleSheetSource(key, settings.credentials_file, retry_delays=s["retry_delays"], timeout=s["timeout_seconds"],
                            reads_per_minute=s["sheets_reads_per_minute"])
    gc, email = src.client(scopes=READWRITE_SCOPES)
    http = gc.http_client
    specs = template_spec(settings)
    try:
        meta = http.fetch_sheet_metadata(key)
        sheets = {sh["properties"]["title"].strip().casefold(): sh["properties"] for sh in meta.get("sheets", [])}
        existing = [(spec, sheets[spec.title.strip().casefold()]) for spec in specs if spec.title.strip().casefold() in sheets]
        headers = {}
        if existing:
            ranges = [f"{a1_tab(props['title'])}!1:1" for _, props in existing]
            answer = http.values_batch_get(key, ranges, params={"majorDimension": "ROWS"})
            for (spec, props), vr in zip(existing, answer.get("valueRanges", [])):
                values = vr.get("values", [])
                headers[spec.name] = [str(v) for v in values[0]] if values else []

        # Id drop-downs point at the id column where an existing referenced tab has it.
        titles = {spec.name: props["title"] for spec, props in existing}
        for spec in specs:
            for col in spec.columns:
                ref = ID_LISTS.get((spec.name, col.header))
                if ref and ref[0] in headers:
                    keys = [parsing.norm_key(h) for h in headers[ref[0]]]
                    col.id_list = (titles[ref[0]], column_letter(keys.index(ref[1]))) if ref[1] in keys else None

        # 1. new tabs (and the About tab), and room for new header cells in existing tabs
        structure, changes, plans = [], [], []
        if ABOUT_TITLE.casefold() not in sheets:
            structure.append({"addSheet": {"properties": {"title": ABOUT_TITLE, "index": 0}}})
        for spec in specs:
            props = sheets.get(spec.title.strip().casefold())
            if props is None:
                structure.append({"addSheet": {"properties": {
                    "title": spec.title, "gridProperties": {"rowCount": ROWS + 1, "columnCount": max(len(spec.columns), 5),
                                                            "frozenRowCount": 1}}}})
                plans.append((spec, None, 0, spec.columns))
                changes.append(SheetChange(spec.title, True, [c.header for c in spec.columns]))
                continue
            have = headers.get(spec.name, [])
            present = {parsing.norm_key(h) for h in have if str(h).strip()}
            missing = [c for c in spec.columns if parsing.norm_key(c.header) not in present]
            if not missing:
                continue
            start = max((i + 1 for i, h in enumerate(have) if str(h).strip()), default=0)
            need = start + len(missing) - props["gridProperties"].get("columnCount", 26)
            if need > 0:
                structure.append({"appendDimension": {"sheetId": props["sheetId"], "dimension": "COLUMNS", "length": need}})
            plans.append((spec, props, start, missing))
            changes.append(SheetChange(props["title"], False, [c.header for c in missing]))
        new_ids = {}
        if structure:
            reply = http.batch_update(key, {"requests": structure})
            for req, rep in zip(structure, reply.get("replies", [])):
                if "addSheet" in req:
                    p = rep["addSheet"]["properties"]
                    new_ids[p["title"]] = p["sheetId"]

        # 2. header cells and the About text, as raw values (never parsed as formulas)
        data = []
        if ABOUT_TITLE.casefold() not in sheets:
            data.append({"range": f"{a1_tab(ABOUT_TITLE)}!A1", "values": about_rows(specs, settings)})
        for spec, props, start, cols in plans:
            title = spec.title if props is None else props["title"]
            data.append({"range": f"{a1_tab(title)}!{column_letter(start)}1", "values": [[c.header for c in cols]]})
        if data:
            http.values_batch_update(key, {"valueInputOption": "RAW", "data": data})

        # 3. drop-downs and date formats on the added columns only (rows 2..ROWS+1)
        rules = []
        for spec, props, start, cols in plans:
            sheet_id = new_ids[spec.title] if props is None else props["sheetId"]
            for offset, col in enumerate(cols):
                # No endRowIndex: the whole column below the header, however many rows it grows to.
                rng = {"sheetId": sheet_id, "startRowIndex": 1,
                       "startColumnIndex": start + offset, "endColumnIndex": start + offset + 1}
                rule = _sheet_rule(col)
                if rule:
                    rules.append({"setDataValidation": {"range": rng, "rule": rule}})
                if col.kind in ("date", "timestamp"):
                    pattern = "yyyy-mm-dd" if col.kind == "date" else "yyyy-mm-dd hh:mm:ss"
                    rules.append({"repeatCell": {"range": rng, "cell": {"userEnteredFormat": {
                        "numberFormat": {"type": "DATE" if col.kind == "date" else "DATE_TIME", "pattern": pattern}}},
                        "fields": "userEnteredFormat.numberFormat"}})
        if rules:
            http.batch_update(key, {"requests": rules})
    except google.auth.exceptions.GoogleAuthError as err:
        raise SourceError(
            f"Google did not accept the service account {email} ({type(err).__name__}). The key may have "
            f"been deleted or disabled; create a new JSON key and try again. Nothing was changed."
        ) from None
    except APIError as err:
        code = err.response.status_code
        if code in (403, 404):
            raise SourceError(
                f"The spreadsheet {key} could not be changed (HTTP {code}). Share it with {email} as an Editor "
                f"(Share > add {email} > Editor), then run `coalition template --sheet` again."
            ) from None
        raise SourceError(f"Google Sheets answered HTTP {code} while adding the template: "
                          f"{err.error.get('message', '')}. Nothing that existed was changed.") from None
    return changes


def _sheet_rule(col: ColumnSpec) -> dict | None:
    if col.choices:
        return {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in col.choices]},
                "strict": True, "showCustomUi": True, "inputMessage": f"Pick one of: {', '.join(col.choices)}"}
    if col.id_list:
        tab, letter = col.id_list
        return {"condition": {"type": "ONE_OF_RANGE", "values": [{"userEnteredValue": f"={a1_tab(tab)}!${letter}$2:${letter}"}]},
                "strict": True, "showCustomUi": True}
    if col.kind in ("date", "timestamp"):
        return {"condition": {"type": "DATE_IS_VALID"}, "strict": True, "inputMessage": "Enter a date, e.g. 2026-07-01."}
    return None
