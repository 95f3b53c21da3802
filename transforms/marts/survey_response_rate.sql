-- grain: one row per wave (every quarter)
-- response_rate = distinct responding members / roster; for an anonymous survey (no respondent
-- column) responses / roster. Counted submissions only (superseded ones are in quarantine).
with

responses as (
    select wave, member_id from staging.stg_survey_responses
),

counts as (
    select
        wave as quarter,
        count(*) as count_responses,
        count(distinct member_id) as count_respondents
    from responses
    group by wave
),

roster as (
    select quarter, count(*) as count_roster from marts.roster_by_quarter group by quarter
),

rated as (
    select
        quarters.quarter as wave,
        quarters.seq,
        coalesce(counts.count_responses, 0) as count_responses,
        coalesce(counts.count_respondents, 0) as count_respondents,
        coalesce(roster.count_roster, 0) as count_roster,
        safe_ratio(
            case when (select is_anonymous from ref.params) then coalesce(counts.count_responses, 0)
                 else coalesce(counts.count_respondents, 0) end,
            roster.count_roster
        ) as response_rate
    from ref.quarters as quarters
    left join counts using (quarter)
    left join roster using (quarter)
)

select * from rated
