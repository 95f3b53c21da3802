-- grain: one row per wave (every quarter)
-- response_rate = distinct responding members / roster; for an anonymous survey (no respondent
-- column) responses / roster. Counted submissions only (superseded ones are in quarantine).
with

responses as (
    select coalition_id, wave, member_id from staging.stg_survey_responses
),

counts as (
    select
        coalition_id,
        wave as quarter,
        count(*) as count_responses,
        count(distinct member_id) as count_respondents
    from responses
    group by coalition_id, wave
),

roster as (
    select coalition_id, quarter, count(*) as count_roster from marts.roster_by_quarter group by coalition_id, quarter
),

rated as (
    select
        quarters.coalition_id,
        quarters.quarter as wave,
        quarters.seq,
        coalesce(counts.count_responses, 0) as count_responses,
        coalesce(counts.count_respondents, 0) as count_respondents,
        coalesce(roster.count_roster, 0) as count_roster,
        safe_ratio(
            case when params.is_anonymous then coalesce(counts.count_responses, 0)
                 else coalesce(counts.count_respondents, 0) end,
            roster.count_roster
        ) as response_rate
    from ref.quarters as quarters
    join ref.params as params using (coalition_id)
    left join counts using (coalition_id, quarter)
    left join roster using (coalition_id, quarter)
)

select * from rated
