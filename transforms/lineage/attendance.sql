-- materialize: view (only metric_lineage.sql reads it: the union is the table stored)
-- grain: one row per (figure, quarter, attendance record or expected attendance with no record):
-- the rows behind attendance_rate (plain and per counted kind, marts/attendance_by_quarter.sql and
-- attendance_by_kind.sql) and member_attendance_rate (marts/attendance_by_member.sql), from
-- lineage.attendance_rows. The rate is present / (present + absent) over the included rows.
-- Per kind: the rows of that kind's meetings (and rows whose meeting is unknown); per member: the
-- member's own rows, for the members on the quarter's roster.
with

rows as (
    select * from lineage.attendance_rows
),

figures as (
    select 'attendance_rate' as metric_id, null as dimension, rows.*
    from rows
    union all
    select 'attendance_rate', kinds.kind, rows.*
    from rows
    join ref.counted_kinds as kinds on kinds.coalition_id = rows.coalition_id and kinds.kind = rows.kind
    union all
    -- a row whose meeting is unknown is listed under every counted kind (an equi-join above, not an
    -- `or` in the join condition, which would compare every row with every kind)
    select 'attendance_rate', kinds.kind, rows.*
    from rows
    join ref.counted_kinds as kinds on kinds.coalition_id = rows.coalition_id
    where rows.kind is null
    union all
    select 'member_attendance_rate', roster.member_id, rows.*
    from rows
    join marts.roster_by_quarter as roster
      on roster.coalition_id = rows.coalition_id and roster.quarter = rows.quarter and roster.member_id = rows.member_id
),

final as (
    select
        coalition_id,
        metric_id,
        dimension,
        quarter,
        tab,
        sheet_row,
        sheet_column,
        member_id,
        role,
        included,
        reason,
        case when tab = 'attendance' then 'status' end as cell
    from figures
)

select * from final
