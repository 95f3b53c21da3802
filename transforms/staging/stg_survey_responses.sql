-- grain: one row per counted survey submission (superseded and unmatched ones are in quarantine)
with

source as (
    select * from raw.survey
    where not is_blank
      and (coalition_id, sheet_row) not in (select (coalition_id, sheet_row) from quarantine.rows where tab = 'survey')
),

all_keys as (
    -- a respondent is matched by member_id or organization name, trimmed and case-folded
    select coalition_id, cm_key(member_id) as respondent_key, member_id from staging.stg_members
    union
    select coalition_id, cm_key(organization) as respondent_key, member_id from staging.stg_members
),

member_keys as (
    -- a key naming two members (a shared organization name) matches neither: validation sets such
    -- a response aside, and a response is never joined to two members
    select coalition_id, respondent_key, any_value(member_id) as member_id
    from all_keys
    group by coalition_id, respondent_key
    having count(distinct member_id) = 1
),

typed as (
    select
        source.coalition_id,
        source.sheet_row as response_id,
        cm_timestamp(source.timestamp) as submitted_at,
        fiscal_quarter(cast(cm_timestamp(source.timestamp) as date), params.fiscal_year_start_month) as wave,
        member_keys.member_id,
        source.sheet_row
    from source
    join ref.params as params on params.coalition_id = source.coalition_id
    left join member_keys
      on member_keys.coalition_id = source.coalition_id and member_keys.respondent_key = cm_key(source.respondent)
)

select * from typed
