-- grain: one row per (figure, quarter, sheet row): the rows behind milestones (plain and per kind)
-- and quick_win_in_first_quarter (marts/milestones_by_quarter.sql). milestones: the rows dated in
-- the quarter up to as_of ('counted'; per kind only that kind's rows). quick_win_in_first_quarter:
-- every member's joined_on (the earliest starts the three months) and the quick_win rows, counted
-- when dated within three months of it and on or before as_of.
with

quarters as (
    select coalition_id, quarter, seq, start_on, end_on, as_of from ref.quarters
),

rows as (
    select
        raw.coalition_id,
        raw.sheet_row,
        raw.is_blank,
        staged.sheet_row is not null as is_staged,
        coalesce(staged.milestone_on, cm_date(raw.coalition_id, raw.date)) as milestone_on,
        coalesce(staged.kind, cm_enum(raw.kind)) as kind,
        quarantined.reason as quarantine_reason
    from raw.milestones as raw
    left join staging.stg_milestones as staged using (coalition_id, sheet_row)
    left join lineage.quarantined as quarantined
      on quarantined.coalition_id = raw.coalition_id and quarantined.tab = 'milestones'
     and quarantined.sheet_row = raw.sheet_row
),

placed as (
    select
        quarters.coalition_id,
        quarters.quarter,
        rows.* exclude (coalition_id),
        case
            when rows.is_blank then 'blank row'
            when rows.milestone_on is not null
             and (rows.milestone_on < quarters.start_on or rows.milestone_on > quarters.end_on)
                then 'outside the quarter (dated ' || rows.milestone_on || ')'
            when not rows.is_staged then coalesce(rows.quarantine_reason, 'not accepted by validation')
            when rows.milestone_on > quarters.as_of then 'after as_of (dated ' || rows.milestone_on || ')'
        end as reason
    from quarters
    join rows using (coalition_id)
),

first_join as (
    select coalition_id, min(joined_on) as first_joined_on from staging.stg_members group by coalition_id
),

quick_wins as (
    select
        quarters.coalition_id,
        quarters.quarter,
        rows.sheet_row,
        case
            when not rows.is_staged then coalesce(rows.quarantine_reason, 'not accepted by validation')
            when rows.milestone_on < first_join.first_joined_on
              or rows.milestone_on > first_join.first_joined_on + interval 3 month
                then 'outside the first three months (dated ' || rows.milestone_on || ')'
            when rows.milestone_on > quarters.as_of then 'after as_of (dated ' || rows.milestone_on || ')'
        end as reason
    from quarters
    left join first_join using (coalition_id)
    join rows on rows.coalition_id = quarters.coalition_id and rows.kind = 'quick_win' and not rows.is_blank
),

figures as (
    select coalition_id, 'milestones' as metric_id, null as dimension, quarter, 'milestones' as tab, sheet_row,
           'counted' as role, reason, 'date' as cell
    from placed
    union all
    select placed.coalition_id, 'milestones', kinds.value, placed.quarter, 'milestones', placed.sheet_row, 'counted', placed.reason, 'date'
    from placed
    join ref.enum_values as kinds
      on kinds.enum = 'milestone_kind' and (placed.kind = kinds.value or placed.kind is null)
    union all
    select quarters.coalition_id, 'quick_win_in_first_quarter', null, quarters.quarter, 'members', members.sheet_row,
           'joined_on (the earliest starts the three months)', null, 'joined_on'
    from quarters
    join staging.stg_members as members using (coalition_id)
    union all
    select coalition_id, 'quick_win_in_first_quarter', null, quarter, 'milestones', sheet_row,
           'quick win in the first three months', reason, 'date'
    from quick_wins
),

final as (
    select
        coalition_id,
        metric_id,
        dimension,
        quarter,
        tab,
        sheet_row,
        null::varchar as sheet_column,
        null::varchar as member_id,
        case when reason is null then role end as role,
        reason is null as included,
        reason,
        cell
    from figures
)

select * from final
