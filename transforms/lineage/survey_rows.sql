-- grain: one row per (wave, sheet row of the survey tab): the row counted as a response of that
-- wave (staging.stg_survey_responses), or why not: blank, outside the wave (placed by its
-- timestamp), or set aside by validation (superseded by a later submission in the wave, a
-- respondent matching no member, an answer off the scale ...: quarantine.rows' reason). The survey
-- figures' lineage (survey.sql, and the scale figures') selects from this table.
with

quarters as (
    select coalition_id, quarter, seq from ref.quarters
),

responses as (
    -- every sheet row of the survey tab, with the counted response when validation accepted it
    select
        raw.coalition_id,
        raw.sheet_row,
        raw.is_blank,
        counted.response_id is not null as is_counted,
        counted.member_id,
        coalesce(counted.wave, fiscal_quarter(cast(cm_timestamp(raw.coalition_id, raw.timestamp) as date), params.fiscal_year_start_month)) as wave,
        quarantined.reason as quarantine_reason
    from raw.survey as raw
    join ref.params as params on params.coalition_id = raw.coalition_id
    left join staging.stg_survey_responses as counted
      on counted.coalition_id = raw.coalition_id and counted.response_id = raw.sheet_row
    left join lineage.quarantined as quarantined
      on quarantined.coalition_id = raw.coalition_id and quarantined.tab = 'survey'
     and quarantined.sheet_row = raw.sheet_row
),

placed as (
    -- each response row for each wave: counted in it, or why not
    select
        quarters.coalition_id,
        quarters.quarter,
        responses.* exclude (coalition_id),
        case
            when responses.is_blank then 'blank row'
            when responses.wave is not null and responses.wave <> quarters.quarter
                then 'outside the wave (submitted in ' || responses.wave || ')'
            when not responses.is_counted then coalesce(responses.quarantine_reason, 'not accepted by validation')
        end as reason
    from quarters
    join responses using (coalition_id)
)

select * from placed
