-- grain: one row per (published id, quarter, sheet row or grid cell, role): the raw rows behind
-- every published figure, counted ('included', with the role the row plays) or left out (with the
-- reason), as `coalition explain` lists them. Each family's rules live in the lineage model beside
-- the mart they mirror; tests/test_lineage.py recomputes every figure from these rows.
with

unioned as (
    select * from lineage.meetings
    union all select * from lineage.attendance
    union all select * from lineage.engagement
    union all select * from lineage.tasks
    union all select * from lineage.survey
    union all select * from lineage.scales
    union all select * from lineage.goals
    union all select * from lineage.milestones
),

final as (
    select
        coalition_id,
        metric_id,
        dimension,
        metric_id || coalesce('[' || dimension || ']', '') as published_id,
        quarter,
        tab,
        sheet_row,
        sheet_column,
        member_id,
        role,
        included,
        reason,
        cell
    from unioned
)

select * from final
