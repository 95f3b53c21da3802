-- grain: one row per quarantined sheet row (scope row) or grid cell (scope cell, sheet_column the
-- meeting column) of any tab, with its reasons as validation gave them (quarantine.rows): the
-- reason a lineage model gives a row that validation set aside.
with

entries as (
    select
        coalition_id,
        tab,
        sheet_row,
        case when scope = 'cell' then "column" end as sheet_column,
        "column",
        reason
    from quarantine.rows
),

grouped as (
    select
        coalition_id,
        tab,
        sheet_row,
        sheet_column,
        -- in one order (by column, then reason): string_agg's order is otherwise the threads'
        'quarantined: ' || string_agg(distinct "column" || ': ' || reason, '; '
                                      order by "column" || ': ' || reason) as reason
    from entries
    group by coalition_id, tab, sheet_row, sheet_column
)

select * from grouped
