-- grain: one row per (quarter, meeting kind), every kind of the contract
-- meetings_held[kind] = meetings of that kind dated in the quarter up to its as_of (all kinds);
-- cadence_adherence[kind] = min(1, held / expected), expected from ref.cadence (per quarter,
-- prorated to the elapsed share of the quarter for a quarter-to-date run); null when the kind has
-- no expected cadence (0).
with

quarters as (
    select coalition_id, quarter, seq, start_on, end_on, as_of from ref.quarters
),

cadence as (
    select coalition_id, kind, expected_per_quarter from ref.cadence
),

held as (
    select meetings.coalition_id, meetings.quarter, meetings.kind, count(*) as meetings_held
    from staging.stg_meetings as meetings
    join quarters using (coalition_id, quarter)
    where meetings.meeting_on <= quarters.as_of
    group by meetings.coalition_id, meetings.quarter, meetings.kind
),

grid as (
    select quarters.*, cadence.kind, cadence.expected_per_quarter
    from quarters
    join cadence using (coalition_id)
),

adherence as (
    select
        grid.coalition_id,
        grid.quarter,
        grid.seq,
        grid.kind,
        coalesce(held.meetings_held, 0) as meetings_held,
        grid.expected_per_quarter,
        grid.expected_per_quarter
            * (datediff('day', grid.start_on, grid.as_of) + 1)
            / (datediff('day', grid.start_on, grid.end_on) + 1) as expected_to_date
    from grid
    left join held using (coalition_id, quarter, kind)
),

final as (
    select
        *,
        case when expected_per_quarter > 0
             then least(1.0, meetings_held / expected_to_date) end as cadence_adherence
    from adherence
)

select * from final
