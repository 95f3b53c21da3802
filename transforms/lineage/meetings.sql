-- grain: one row per (figure, quarter, meetings-tab row): the rows behind meetings_held and
-- cadence_adherence (marts/meetings_by_kind.sql), plain and per kind, and the facilitation side of
-- leadership_concentration, ownership_hhi and single_champion_risk (marts/ownership_by_member.sql). A row counts ('held') when
-- its meeting is dated in the quarter up to as_of; meetings_held counts every kind, cadence_adherence
-- only kinds with an expected cadence (ref.cadence). Rows of another kind are listed only under the
-- plain figure. Every row of the tab is listed for every quarter, with why it is left out (blank,
-- outside the quarter, quarantined, after as_of, no expected cadence).
with

quarters as (
    select coalition_id, quarter, seq, start_on, end_on, as_of from ref.quarters
),

rows as (
    -- every sheet row of the tab, with the staged meeting when validation accepted it
    select
        raw.coalition_id,
        raw.sheet_row,
        raw.is_blank,
        coalesce(staged.meeting_on, cm_date(raw.coalition_id, raw.date)) as meeting_on,
        coalesce(staged.kind, cm_enum(raw.kind)) as kind,
        staged.sheet_row is not null as is_staged,
        staged.facilitator_id,
        quarantined.reason as quarantine_reason
    from raw.meetings as raw
    left join staging.stg_meetings as staged using (coalition_id, sheet_row)
    left join lineage.quarantined as quarantined
      on quarantined.coalition_id = raw.coalition_id and quarantined.tab = 'meetings'
     and quarantined.sheet_row = raw.sheet_row
),

placed as (
    select
        quarters.coalition_id,
        quarters.quarter,
        rows.* exclude (coalition_id),
        case
            when rows.is_blank then 'blank row'
            when rows.meeting_on is not null and fiscal_quarter(rows.meeting_on, params.fiscal_year_start_month) <> quarters.quarter
                then 'outside the quarter (dated ' || rows.meeting_on || ')'
            when not rows.is_staged then coalesce(rows.quarantine_reason, 'not accepted by validation')
            when rows.meeting_on > quarters.as_of then 'after as_of (dated ' || rows.meeting_on || ')'
        end as reason
    from quarters
    join ref.params as params using (coalition_id)
    join rows using (coalition_id)
),

cadence as (
    select coalition_id, kind, expected_per_quarter from ref.cadence
),

figures as (
    -- meetings_held: plain (every kind) and per kind
    select 'meetings_held' as metric_id, null as dimension, placed.*, placed.reason as why_not
    from placed
    union all
    select 'meetings_held', kinds.value, placed.*, placed.reason
    from placed
    join ref.enum_values as kinds
      on kinds.enum = 'kind' and (placed.kind = kinds.value or placed.kind is null)
    union all
    -- cadence_adherence: the kinds with an expected cadence; plain = the mean over those kinds
    select 'cadence_adherence', null, placed.*,
           coalesce(placed.reason, case when coalesce(cadence.expected_per_quarter, 0) = 0
                                        then 'no expected cadence for ' || placed.kind end)
    from placed
    left join cadence on cadence.coalition_id = placed.coalition_id and cadence.kind = placed.kind
    union all
    select 'cadence_adherence', cadence.kind, placed.*, placed.reason
    from placed
    join cadence on cadence.coalition_id = placed.coalition_id and (placed.kind = cadence.kind or placed.kind is null)
    where cadence.expected_per_quarter > 0
    union all
    -- leadership [facilitation] (and the plain figure): the facilitators of the meetings held in
    -- the quarter up to as_of (marts/ownership_by_member.sql)
    select metrics.metric_id, dimensions.dimension, placed.*,
           coalesce(placed.reason, case when placed.facilitator_id is null then 'no facilitator' end)
    from placed
    cross join (values ('leadership_concentration'), ('ownership_hhi'), ('single_champion_risk')) as metrics(metric_id)
    cross join (values (null), ('facilitation')) as dimensions(dimension)
),

final as (
    select
        coalition_id,
        metric_id,
        dimension,
        quarter,
        'meetings' as tab,
        sheet_row,
        null::varchar as sheet_column,
        facilitator_id as member_id,
        case when why_not is not null then null
             when metric_id in ('meetings_held', 'cadence_adherence') then 'held'
             else 'facilitated' end as role,
        why_not is null as included,
        why_not as reason,
        case when metric_id in ('meetings_held', 'cadence_adherence') then 'date' else 'facilitator_id' end as cell
    from figures
)

select * from final
