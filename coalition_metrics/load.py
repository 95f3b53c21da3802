"""Load: the snapshot into DuckDB ``raw.*`` (all text, with sheet_row and snapshot id), the values
validation parsed into ``parsed.*`` (staging reads them and parses nothing), the quarantine into
``quarantine.rows``, and the reference tables the SQL models read (``ref.*``). raw, parsed and
quarantine tables start with ``coalition_id``.

One database file holds the schemas raw, parsed, staging, marts, quarantine, ref and the ``runs`` table.
raw, staging, marts and quarantine describe the latest run; ``runs`` keeps every run.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from . import parsing
from .contract import ENUMS, columns_of
from .parsing import enum_value
from .registry import load_registry
from .quarters import Quarter, quarters_between
from .snapshot import Snapshot
from .transaction import one_commit
from .validate import ValidationResult

SCHEMAS = ("raw", "parsed", "staging", "marts", "quarantine", "ref")

RUNS_DDL = """
create table if not exists runs (
    run_id varchar primary key,
    flow varchar,
    quarter varchar,
    as_of date,
    started_at timestamp,
    finished_at timestamp,
    status varchar,
    snapshot_id varchar,
    output_folder varchar,
    message varchar,
    pid integer,
    write_back varchar,
    write_back_at timestamp,
    write_back_message varchar
)
"""


def connect(db_path: Path):
    import duckdb

    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    ensure_tables(con)
    return con


RUNS_COLUMNS = 14  # run_id ... write_back_message: a runs table with fewer is from an older version


def ensure_tables(con) -> None:
    """The schemas and the runs table (with the columns later versions added) in the connection's
    current database. A database that has them all is only read (each DDL statement, even one that
    changes nothing, is a commit: a few ms each, which a portfolio pays per coalition)."""
    import duckdb

    try:  # (the catalog functions duckdb_schemas()/duckdb_columns() take a few ms; these two under 1)
        columns = len(con.execute("select * from main.runs limit 0").description)
        rows = con.execute("select current_database(), catalog_name, schema_name from information_schema.schemata")
        schemas = len({schema for current, catalog, schema in rows.fetchall() if catalog == current} & set(SCHEMAS))
    except duckdb.CatalogException:  # no runs table yet
        columns = schemas = 0
    if schemas == len(SCHEMAS) and columns == RUNS_COLUMNS:
        return
    with one_commit(con):  # one commit for all of it (a new coalition's database: 11 statements)
        for schema in SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        con.execute(RUNS_DDL)
        con.execute("alter table runs add column if not exists pid integer")  # databases from before pid
        for column, kind in (("write_back", "varchar"), ("write_back_at", "timestamp"), ("write_back_message", "varchar")):
            con.execute(f"alter table runs add column if not exists {column} {kind}")  # from before write-back


# Per-coalition tables carry coalition_id as their first column (a portfolio's one database holds
# every coalition's rows; coalition_db.coalition_view shows one coalition without it). ref.enum_values,
# ref.metrics and ref.t_critical are global.
GLOBAL_REF = ("ref.enum_values", "ref.metrics", "ref.t_critical")


def load_snapshot_tables(con, snap: Snapshot, validation: ValidationResult, settings) -> None:
    """raw.<tab>, quarantine.rows and ref.source_tabs of one coalition (snapshot_frames)."""
    write_tables(con, snapshot_frames(snap, validation, settings))


class Columns:
    """A table's columns before they are framed: name -> a numpy array or Series of ``n`` values, or
    one value for every row (None for a column of nulls). A portfolio joins thousands of these
    (concat_tables) and frames only the joined table: framing each coalition's tables first cost
    about 1 ms a table, 25-30 ms a coalition."""

    def __init__(self, data: dict, n: int):
        self.data, self.n = data, n

    @property
    def columns(self) -> list[str]:
        return list(self.data)

    def __len__(self) -> int:
        return self.n

    def cells(self, name: str):
        """The column as an object array of n values."""
        import numpy as np

        value = self.data[name]
        if hasattr(value, "to_numpy"):
            return value.to_numpy(dtype=object)
        if isinstance(value, np.ndarray):
            return value.astype(object)
        out = np.empty(self.n, dtype=object)
        out.fill(value)
        return out


def snapshot_frames(snap: Snapshot, validation: ValidationResult, settings, framed: bool = True
                    ) -> dict[str, tuple]:
    """table name -> (frame, types), each with coalition_id first: raw.<tab>: every sheet row, cells
    as text under contract column names; parsed.<tab>: each checked record's values as validation
    parsed them (dates, timestamps, numbers, enumerations, attendance marks, survey answers in
    parsed.survey_answers), so staging reads typed columns and parses nothing again; quarantine.rows;
    ref.source_tabs.

    Grid-form attendance is stored as one record per marked cell, ``sheet_column`` naming the
    meeting column; long-form attendance has ``sheet_column`` null. ``framed=False``: the raw and
    parsed tables as Columns, for concat_tables (a portfolio's)."""
    import numpy as np
    import pandas as pd

    cid = settings.coalition_id
    tables = {}
    for name, result in validation.tabs.items():
        cols = [c.name for c in columns_of(name, settings)]
        extra = ["sheet_column"] if name == "attendance" else []
        if name == "survey" and "respondent" not in cols:
            # An anonymous survey ([survey] respondent_column = ""): the column the SQL matches
            # respondents by is there, and null, so no response names a member.
            extra = ["respondent"]
        tab = snap.tabs.get(name)
        data: dict[str, object] = {}
        if result.form == "grid":
            # The grid as one record per marked cell (meeting resolved, status cell text as typed).
            records = result.records
            data = {"sheet_row": records["sheet_row"].to_numpy(), "snapshot_id": snap.snapshot_id,
                    "is_blank": False, "sheet_column": records["sheet_column"].to_numpy(),
                    **{c: records[c].to_numpy() for c in cols}}
        elif tab is not None and tab.present:
            rows = np.asarray(tab.sheet_rows, dtype=np.int64)
            data = {"sheet_row": rows, "snapshot_id": snap.snapshot_id,
                    "is_blank": np.isin(rows, np.asarray(result.blank_rows, dtype=np.int64)),
                    "sheet_column": None, "respondent": None}
            lengths = None if tab.lengths is None else np.asarray(tab.lengths)
            for col in cols:
                idx = result.column_map.get(col)
                if idx is None or idx >= len(tab.columns):
                    data[col] = None
                    continue
                cells = np.asarray(tab.columns[idx], dtype=object)
                if lengths is not None:
                    cells = np.where(lengths > idx, cells, None)
                data[col] = cells
        columns = ["coalition_id", "sheet_row", "snapshot_id", "is_blank", *extra, *cols]
        n = len(data["sheet_row"]) if data else 0
        if not framed:
            frame = Columns({"coalition_id": cid, **{c: data.get(c) for c in columns[1:]}}, n)
        elif data:
            frame = pd.DataFrame({"coalition_id": cid, **{c: data.get(c) for c in columns[1:]}}, index=range(n))
        else:
            frame = pd.DataFrame(columns=columns[1:])
            frame.insert(0, "coalition_id", cid)
        tables[f"raw.{name}"] = (frame, {"sheet_row": "integer", "is_blank": "boolean"})
        for table, (parsed, types) in parsed_tables(name, result, settings, framed, cid).items():
            tables[f"parsed.{table}"] = (parsed, {"sheet_row": "integer", **types})

    # Which tabs the snapshot has: an optional tab that is absent gives "no data" for the metrics
    # resting on it (published_metrics.sql), never a count of 0 or a flag "no".
    present = [(cid, name, result.form == "grid" or (snap.tabs.get(name) is not None and snap.tabs[name].present))
               for name in validation.tabs]
    tables["ref.source_tabs"] = (pd.DataFrame(present, columns=["coalition_id", "tab", "present"]), {"present": "boolean"})

    q = pd.DataFrame.from_records(
        [{"coalition_id": cid, **c.as_dict(), "snapshot_id": snap.snapshot_id} for c in validation.quarantined],
        columns=["coalition_id", "tab", "sheet_row", "column", "value", "expectation", "reason", "fix", "scope",
                 "rule", "snapshot_id"],
    )
    tables["quarantine.rows"] = (q, {"sheet_row": "integer"})
    return tables


_TYPES = {"date": "date", "timestamp": "timestamp", "number": "double", "enum": "varchar"}


def parsed_tables(name: str, result, settings, framed: bool = True, coalition_id: str | None = None
                  ) -> dict[str, tuple]:
    """parsed.<tab> (and parsed.survey_answers): for each checked record (``sheet_row``, and
    ``sheet_column`` for attendance), its date, timestamp, number and enumerated columns as
    validation parsed them, under the contract column's name; an attendance status as its mark
    (present/absent/excused), a task's workstream as its matching key (``workstream_key``), a
    survey response's member (``member_id``, matched by validation) and each answered item's
    answer (parsed.survey_answers: sheet_row, item, answer). An absent tab gives empty tables.
    ``coalition_id``: a first column holding it; ``framed=False``: Columns, not frames."""
    import pandas as pd

    records = result.records
    columns = columns_of(name, settings)
    typed = {c.name: _TYPES[c.kind] for c in columns if c.kind in _TYPES}
    out: dict[str, tuple] = {}
    if records is None:
        records = pd.DataFrame({"sheet_row": []})
    # the columns gathered first and framed once (a column added to a frame costs more than a row)
    first = {} if coalition_id is None else {"coalition_id": coalition_id}
    data = {**first, "sheet_row": records["sheet_row"]}
    if name == "attendance":
        # grid form: one record per marked cell, named by its column; long form: null
        data["sheet_column"] = records["sheet_column"] if "sheet_column" in records else None
    for col, kind in typed.items():
        values = records[f"{col}__value"] if f"{col}__value" in records else None
        if col == "status" and name == "attendance" and values is not None:
            values = _per_distinct(records["status"], parsing.attendance_mark)
        data[col] = values
    if name == "tasks":
        data["workstream_key"] = _per_distinct(records["workstream"], enum_value) if "workstream" in records else None
    if name == "survey":
        data["member_id"] = records.get("respondent__member_id")

    def table(columns: dict):
        return pd.DataFrame(columns, index=records.index) if framed else Columns(columns, len(records))

    out[name] = (table(data), dict(typed))
    if name == "survey":
        # one double column per item, named by its code, in the tab's column order: staging
        # unpivots them (no item is named in SQL)
        answers = {**first, "sheet_row": records["sheet_row"]}
        for item in (c.name for c in columns if c.kind == "likert"):
            answers[item] = records[f"{item}__value"].astype(float) if f"{item}__value" in records else None
        out["survey_answers"] = (table(answers),
                                 {c: "double" for c in answers if c not in ("sheet_row", "coalition_id")})
    return out


def _per_distinct(values, fn):
    """fn of each value, computed once per distinct value."""
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = [fn(u) for u in uniques]
    out = pd.Series([mapped[c] if c >= 0 else fn(None) for c in codes], index=values.index, dtype=object)
    return out


def load_reference_tables(con, settings, quarter: Quarter, as_of: date, first: Quarter) -> None:
    """The coalition's reference tables (reference_frames), the global ones (global_reference_frames)
    and ref.t_critical sized to the survey loaded (load_t_critical)."""
    write_tables(con, {**reference_frames(settings, quarter, as_of, first), **global_reference_frames()})
    load_t_critical(con, largest_survey_n(con))


def reference_frames(settings, quarter: Quarter, as_of: date, first: Quarter, framed: bool = True) -> dict[str, tuple]:
    """table name -> (frame, types) of one coalition's ref tables, coalition_id first: ref.quarters
    (every quarter from the first with data to the run's, labelled by the coalition's own fiscal
    year), ref.params (one row), ref.cadence, ref.counted_kinds, the survey instrument (ref.survey_*),
    ref.workstreams. ``framed=False``: each table as Columns (for concat_tables), not a frame."""
    table = _framer(framed)
    cid = settings.coalition_id
    qs = quarters_between(first, quarter)
    tables = {}
    frame = table(
        {
            "coalition_id": cid,
            "quarter": [q.label for q in qs],
            "seq": list(range(1, len(qs) + 1)),
            "start_on": [q.start for q in qs],
            "end_on": [q.end for q in qs],
            # A closed quarter's as_of is its last day; the run's quarter may be to date.
            "as_of": [min(q.end, as_of) for q in qs],
        }
    )
    tables["ref.quarters"] = (frame, {"seq": "integer", "start_on": "date", "end_on": "date", "as_of": "date"})
    m = settings.data["metrics"]
    params = table(
        {
            "coalition_id": [cid],
            "run_quarter": [quarter.label],
            "as_of": [as_of],
            "small_n": [settings.small_n],
            "is_anonymous": [not settings.survey["respondent_column"]],
            "alert_drop": [m["alert_drop"]],
            "alert_absences": [m["alert_absences"]],
            "champion_share": [m["champion_share"]],
            "on_track_margin": [m["on_track_margin"]],
            "voice_gap_waves": [m["voice_gap_waves"]],
            # the items satisfaction_mean and voice_gap rest on; null = none ("no data")
            "satisfaction_item": [settings.instrument.satisfaction_item],
            "voice_item": [settings.instrument.voice_item],
            # quarter labels of dates outside ref.quarters (macros.sql fiscal_quarter)
            "fiscal_year_start_month": [settings.fiscal_year_start_month],
        }
    )
    tables["ref.params"] = (params, {
        "as_of": "date", "small_n": "integer",
        "is_anonymous": "boolean", "alert_drop": "double", "alert_absences": "integer",
        "champion_share": "double", "on_track_margin": "double", "voice_gap_waves": "integer",
        "fiscal_year_start_month": "integer"})
    tables["ref.cadence"] = (table({"coalition_id": cid, "kind": list(settings.data["cadence"]),
                                           "expected_per_quarter": list(settings.data["cadence"].values())},
                                          columns=["coalition_id", "kind", "expected_per_quarter"]),
                             {"expected_per_quarter": "integer"})
    tables["ref.counted_kinds"] = (table({"coalition_id": cid, "kind": list(settings.counted_kinds)},
                                                columns=["coalition_id", "kind"]), {})
    tables.update(instrument_frames(settings.instrument, cid, framed))
    # [workstreams]: the workstream's matching key (parsing.enum_value, as cm_enum in SQL) -> its goal
    # id, null for "" (listed, tied to no goal). An empty table: the config declares no mapping.
    streams = settings.workstreams
    tables["ref.workstreams"] = (table({
        "coalition_id": cid, "workstream": list(streams), "workstream_key": [enum_value(name) for name in streams],
        "goal_id": [goal.strip() or None for goal in streams.values()]},
        columns=["coalition_id", "workstream", "workstream_key", "goal_id"]), {})
    return tables


def global_reference_frames() -> dict[str, tuple]:
    """ref.enum_values, ref.metrics (the registry) and ref.t_critical: the same for every coalition."""
    import pandas as pd

    tables = {}
    enums = [(name, value, i) for name, values in ENUMS.items() for i, value in enumerate(values, start=1)]
    tables["ref.enum_values"] = (pd.DataFrame(enums, columns=["enum", "value", "position"]), {"position": "integer"})
    registry = load_registry()
    tables["ref.metrics"] = (pd.DataFrame({
        "metric_id": [m.id for m in registry], "is_survey": [m.survey for m in registry],
        "audience": [m.audience for m in registry], "model": [m.model for m in registry],
        "dimension_kind": [m.dimension for m in registry], "role": [m.role for m in registry],
        "position": range(1, len(registry) + 1)}),
        {"is_survey": "boolean", "position": "integer"})
    return tables


T_CRITICAL_MIN_DF = 1000  # ref.t_critical always covers df 1..1000, and more when the data can need it


def largest_survey_n(con) -> int:
    """An upper bound of the n of any survey figure: the survey tab's rows (every wave, item and
    scale counts at most one answer per submission); 0 with no survey table loaded yet."""
    try:
        return int(con.execute("select count(*) from raw.survey").fetchall()[0][0])
    except Exception:  # no raw.survey (reference tables loaded on their own)
        return 0


def load_t_critical(con, largest_n: int) -> None:
    """ref.t_critical: t(0.975, df) for every df from 1 to max(1000, largest_n - 1), so a 95%
    t-interval (macros.sql t_interval_half, df = n - 1) has its critical value for any n the data
    can produce (a wave of 5,000 responses included), never a null interval."""
    import numpy as np
    import pandas as pd

    from .student_t import t_quantile

    dfs = np.arange(1, max(T_CRITICAL_MIN_DF, largest_n - 1) + 1)
    t = pd.DataFrame({"df": dfs, "t975": t_quantile(0.975, dfs)})
    _replace_table(con, "ref.t_critical", t, {"df": "integer", "t975": "double"})


def load_instrument_tables(con, instrument, coalition_id: str = "coalition") -> None:
    """The survey instrument's ref tables (instrument_frames) of one coalition."""
    write_tables(con, instrument_frames(instrument, coalition_id))


def instrument_frames(instrument, coalition_id: str, framed: bool = True) -> dict[str, tuple]:
    """ref.survey_items, ref.survey_item_labels, ref.survey_scales, ref.survey_scale_items and
    ref.survey_scale_bands: the survey instrument (instrument.py) as the SQL models read it.
    ``framed=False``: each table as Columns (for concat_tables), not a frame."""
    table = _framer(framed)
    cid = coalition_id
    items = instrument.items
    tables = {}
    tables["ref.survey_items"] = (table({
        "coalition_id": cid,
        "item": [i.code for i in items], "position": range(1, len(items) + 1),
        "question": [i.question for i in items],
        "scale_min": [i.scale_min for i in items], "scale_max": [i.scale_max for i in items],
        "reverse": [i.reverse for i in items], "funder": [i.funder for i in items]}),
        {"position": "integer", "scale_min": "integer", "scale_max": "integer", "reverse": "boolean", "funder": "boolean"})
    labels = [(cid, i.code, i.scale_min + k, label) for i in items for k, label in enumerate(i.labels)]
    tables["ref.survey_item_labels"] = (table(labels, columns=["coalition_id", "item", "value", "label"]),
                                        {"value": "integer"})
    scales = instrument.scales
    tables["ref.survey_scales"] = (table({
        "coalition_id": cid,
        "scale": [s.code for s in scales], "name": [s.name for s in scales],
        "position": range(1, len(scales) + 1), "funder": [s.funder for s in scales],
        "min_items": [s.min_items for s in scales]},
        columns=["coalition_id", "scale", "name", "position", "funder", "min_items"]),
        {"position": "integer", "funder": "boolean", "min_items": "integer"})
    members = [(cid, s.code, item, k) for s in scales for k, item in enumerate(s.items, start=1)]
    tables["ref.survey_scale_items"] = (table(members, columns=["coalition_id", "scale", "item", "position"]),
                                        {"position": "integer"})
    bands = [(cid, s.code, k, b.label, b.min) for s in scales for k, b in enumerate(s.bands, start=1)]
    tables["ref.survey_scale_bands"] = (table(bands, columns=["coalition_id", "scale", "position", "label", "min"]),
                                        {"position": "integer", "min": "double"})
    return tables


def _framer(framed: bool):
    """``pandas.DataFrame`` itself (called as reference_frames calls it: a dict of columns, or rows
    with ``columns``), or, unframed, the same table as Columns: each listed column an object array of
    its values, a single value for every row as it is."""
    import pandas as pd

    if framed:
        return pd.DataFrame

    def columns_of(data, columns=None):
        if not isinstance(data, dict):  # rows
            rows = list(data)
            return Columns({c: _objects([r[i] for r in rows]) for i, c in enumerate(columns)}, len(rows))
        (n,) = {len(v) for v in data.values() if isinstance(v, (list, tuple, range))}  # one length
        cells = {c: _objects(v) if isinstance(v, (list, tuple, range)) else v for c, v in data.items()}
        return Columns({c: cells[c] for c in (columns or cells)}, n)

    return columns_of


def _objects(values):
    """The values as an object array, each as it is."""
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def write_tables(con, tables: dict[str, tuple]) -> None:
    """Create or replace each table from its (frame, types)."""
    for name, (frame, types) in tables.items():
        _replace_table(con, name, frame, types)


def concat_tables(per_coalition: list[dict[str, tuple]]) -> dict[str, tuple]:
    """Several coalitions' tables as one frame per table (one insert per table, not one per
    coalition): the columns of every coalition's frame, in first-seen order; a column another
    coalition's tab lacks (its survey items) is null there. Every column is object-typed, its
    missing values (None, NaN, NaT) None, so each is read as the table's declared type. The
    columns are joined as numpy arrays, one per column, not frame by frame."""
    import numpy as np
    import pandas as pd

    merged: dict[str, tuple] = {}
    for name in dict.fromkeys(n for tables in per_coalition for n in tables):
        parts = [tables[name] for tables in per_coalition if name in tables]
        columns = list(dict.fromkeys(c for frame, _ in parts for c in frame.columns))
        types = {k: v for _, t in parts for k, v in t.items()}
        data = {}
        for c in columns:
            pieces = [_cells(frame, c) for frame, _ in parts]
            values = np.concatenate(pieces) if len(pieces) > 1 else pieces[0].copy()
            values[pd.isna(values)] = None
            data[c] = values
        merged[name] = (pd.DataFrame(data, columns=columns, dtype=object), types)
    return merged


def _cells(table, column: str):
    """A frame's or Columns' column as an object array (all None when it lacks the column)."""
    import numpy as np

    if column not in table.columns:
        return np.full(len(table), None, dtype=object)
    return table.cells(column) if isinstance(table, Columns) else table[column].to_numpy(dtype=object)


def _replace_table(con, name: str, frame, types: dict[str, str]) -> None:
    """Create or replace a table from a frame; columns not in ``types`` are varchar. A text column
    holding one value in every row (a coalition id, a snapshot id, or null throughout) is written
    as that value, a query parameter, instead of being read from the frame row by row (DuckDB reads
    each Python string of a column: 0.1 s per column of 1.3 million rows)."""
    constant = _constant_text_columns(frame)
    select, params = [], []
    for c in frame.columns:
        source = "?" if c in constant else f'"{c}"'
        if c in constant:
            params.append(constant[c])
        select.append(f'cast({source} as {types.get(c, "varchar")}) as "{c}"')
    read = frame.drop(columns=list(constant)) if constant else frame
    if read.shape[1] == 0:  # every column constant: the rows still count
        read = read.assign(_row=0)
    con.register("_frame", read)
    try:
        con.execute(f"create or replace table {name} as select {', '.join(select)} from _frame", params)
    finally:
        con.unregister("_frame")


def _constant_text_columns(frame) -> dict[str, str | None]:
    """Column -> its one value, for each column of a frame with rows whose every cell is the same
    text (or every cell null: None/NaN)."""
    import numpy as np
    import pandas as pd

    out: dict[str, str | None] = {}
    if len(frame) < 2:
        return out
    for c in frame.columns:
        column = frame[c]
        if column.dtype != object and not isinstance(column.dtype, pd.StringDtype):
            continue
        values = column.to_numpy(dtype=object)
        first = values[0]
        if first is None or (isinstance(first, float) and first != first):
            if pd.isna(values).all():
                out[c] = None
        elif isinstance(first, str) and bool(np.all(values == first)):
            out[c] = first
    return out
