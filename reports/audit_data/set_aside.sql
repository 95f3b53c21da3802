-- Audit pack, tables "duplicates", "outside_membership" and "unmatched": survey submissions that
-- validation set aside (quarantine.rows) as superseded by the same member's later submission in
-- the wave ($rule_superseded), dated outside the member's membership ($rule_outside), or naming no
-- member or several ($rule_unknown, $rule_ambiguous). One row per submission with its sheet row,
-- the respondent as typed, the member it names, the wave its timestamp falls in and validation's
-- reason; a superseded submission also names the submission that counted instead (the member's
-- counted response in that wave, staging.stg_survey_responses; none when that one was itself set
-- aside for another reason). Rows dated in the waves $wave_from .. $wave_to, or with no date; dates are
-- read in the date format of the coalition $coalition_id (cm_timestamp).
with

set_aside as (
    select
        case rule
            when $rule_superseded then 'duplicate'
            when $rule_outside then 'outside_membership'
            else 'unmatched'
        end as check_name,
        sheet_row,
        any_value(reason) as reason
    from quarantine.rows
    where tab = 'survey' and rule in ($rule_superseded, $rule_outside, $rule_unknown, $rule_ambiguous)
    group by all
),

member_keys as (
    -- the respondent matches a member by member id or organization, trimmed and case-folded, and
    -- only when the text names exactly one member (as in staging.stg_survey_responses)
    select respondent_key, any_value(member_id) as member_id
    from (
        select cm_key(member_id) as respondent_key, member_id from staging.stg_members
        union
        select cm_key(organization) as respondent_key, member_id from staging.stg_members
    )
    group by respondent_key
    having count(distinct member_id) = 1
),

submissions as (
    select
        set_aside.check_name,
        set_aside.sheet_row,
        raw_rows.respondent,
        member_keys.member_id,
        cm_timestamp($coalition_id, raw_rows.timestamp) as submitted_at,
        fiscal_quarter(cast(cm_timestamp($coalition_id, raw_rows.timestamp) as date), (select fiscal_year_start_month from ref.params)) as wave,
        set_aside.reason
    from set_aside
    join raw.survey as raw_rows using (sheet_row)
    left join member_keys on member_keys.respondent_key = cm_key(raw_rows.respondent)
),

in_range as (
    select submissions.*
    from submissions
    left join ref.quarters as quarters on quarters.quarter = submissions.wave
    where submissions.wave is null
       or quarters.seq between (select seq from ref.quarters where quarter = $wave_from)
                           and (select seq from ref.quarters where quarter = $wave_to)
)

select
    in_range.check_name,
    in_range.sheet_row,
    in_range.respondent,
    in_range.member_id,
    members.organization,
    in_range.wave,
    in_range.submitted_at,
    in_range.reason,
    case when in_range.check_name = 'duplicate' then counted.sheet_row end as counted_row,
    case when in_range.check_name = 'duplicate' then counted.submitted_at end as counted_submitted_at
from in_range
left join staging.stg_members as members using (member_id)
left join staging.stg_survey_responses as counted
  on in_range.check_name = 'duplicate' and counted.member_id = in_range.member_id and counted.wave = in_range.wave
order by in_range.check_name, in_range.sheet_row
