-- grain: one row per counted survey submission (superseded and unmatched ones are in quarantine).
-- The respondent was matched to a member by validation (by member_id or organization name, trimmed
-- and case-folded; a name two members share matches neither and is set aside): parsed.survey.member_id.
with

source as (
    select raw.sheet_row, raw.coalition_id, parsed."timestamp" as submitted_at, parsed.member_id
    from raw.survey as raw
    join parsed.survey as parsed using (coalition_id, sheet_row)
    where not raw.is_blank
      and not exists (
          select 1 from quarantine.rows as q
          where q.coalition_id = raw.coalition_id and q.tab = 'survey' and q.sheet_row = raw.sheet_row
      )
),

typed as (
    select
        coalition_id,
        sheet_row as response_id,
        submitted_at,
        fiscal_quarter(cast(submitted_at as date), params.fiscal_year_start_month) as wave,
        member_id,
        sheet_row
    from source
    join ref.params as params using (coalition_id)
)

select * from typed
