-- materialize: view (only metric_lineage.sql reads it: the union is the table stored)
-- grain: one row per (figure, quarter, sheet row and role): the rows behind active_members,
-- engagement_rate, retention_rate (marts/engagement_by_quarter.sql) and disengagement_alerts
-- (marts/disengagement_alerts.sql).
--   active_members, engagement_rate: the members tab's rows (on the roster, active or not; the rest
--     with why not), each presence at a counted meeting ('present', from lineage.attendance_rows)
--     and the counted meetings held (none held: no data).
--   retention_rate: the presences of last quarter and of this quarter (a presence this quarter
--     of a member not active last quarter is left out), and the counted meetings held.
--   disengagement_alerts: the roster's rows (who is on it at as_of), and for each member on it at
--     as_of the expected attendances of this and last quarter (the rates compared) and the last
--     [metrics] alert_absences expected meetings up to as_of (excused skipped).
with

quarters as (
    select coalition_id, quarter, seq, start_on, end_on, as_of from ref.quarters
),

members as (
    -- every sheet row of the members tab, with the staged member when validation accepted it
    select
        raw.coalition_id,
        raw.sheet_row,
        raw.is_blank,
        staged.member_id,
        staged.joined_on,
        staged.left_on,
        quarantined.reason as quarantine_reason
    from raw.members as raw
    left join staging.stg_members as staged using (coalition_id, sheet_row)
    left join lineage.quarantined as quarantined
      on quarantined.coalition_id = raw.coalition_id and quarantined.tab = 'members'
     and quarantined.sheet_row = raw.sheet_row
),

active as (
    select distinct coalition_id, quarter, member_id from marts.expected_attendance where status = 'present'
),

roster_rows as (
    -- each members row for each quarter: on the quarter's roster (marts.roster_by_quarter) or why not
    select
        quarters.coalition_id,
        quarters.quarter,
        quarters.as_of,
        members.* exclude (coalition_id),
        roster.member_id is not null as is_on_roster,
        active.member_id is not null as is_active,
        case
            when members.is_blank then 'blank row'
            when members.member_id is null then coalesce(members.quarantine_reason, 'not accepted by validation')
            when roster.member_id is not null then null
            when members.joined_on > quarters.end_on then 'not on the roster (joined ' || members.joined_on || ')'
            else 'not on the roster (left ' || members.left_on || ')'
        end as reason
    from quarters
    join members using (coalition_id)
    left join marts.roster_by_quarter as roster
      on roster.coalition_id = quarters.coalition_id and roster.quarter = quarters.quarter
     and roster.sheet_row = members.sheet_row
    left join active
      on active.coalition_id = quarters.coalition_id and active.quarter = quarters.quarter
     and active.member_id = members.member_id
),

presences as (
    select * from lineage.attendance_rows where included and role = 'present'
),

counted_meetings as (
    select quarters.coalition_id, quarters.quarter, meetings.sheet_row
    from quarters
    join staging.stg_meetings as meetings
      on meetings.coalition_id = quarters.coalition_id
     and meetings.quarter = quarters.quarter
     and meetings.is_counted_kind
     and meetings.meeting_on <= quarters.as_of
),

engagement as (
    select coalition_id, quarter, 'members' as tab, sheet_row, null::varchar as sheet_column, member_id,
           case when reason is not null then null
                when is_active then 'on the roster, active'
                else 'on the roster, not active' end as role,
           reason, 'member_id' as cell
    from roster_rows
    union all
    select coalition_id, quarter, tab, sheet_row, sheet_column, member_id, 'present', null, 'status'
    from presences
    union all
    select coalition_id, quarter, 'meetings', sheet_row, null, null, 'counted meeting held', null, 'kind'
    from counted_meetings
),

retention as (
    select this_q.coalition_id, this_q.quarter, last_p.tab, last_p.sheet_row, last_p.sheet_column, last_p.member_id,
           'present last quarter' as role, null as reason, 'status' as cell
    from quarters as this_q
    join quarters as last_q on last_q.coalition_id = this_q.coalition_id and last_q.seq = this_q.seq - 1
    join presences as last_p on last_p.coalition_id = last_q.coalition_id and last_p.quarter = last_q.quarter
    union all
    select this_q.coalition_id, this_q.quarter, this_p.tab, this_p.sheet_row, this_p.sheet_column, this_p.member_id,
           case when before.member_id is not null then 'present this quarter' end,
           case when before.member_id is null then 'not active last quarter' end,
           'status'
    from quarters as this_q
    join presences as this_p on this_p.coalition_id = this_q.coalition_id and this_p.quarter = this_q.quarter
    left join quarters as last_q on last_q.coalition_id = this_q.coalition_id and last_q.seq = this_q.seq - 1
    left join active as before
      on before.coalition_id = this_q.coalition_id and before.quarter = last_q.quarter
     and before.member_id = this_p.member_id
    union all
    select coalition_id, quarter, 'meetings', sheet_row, null, null, 'counted meeting held', null, 'kind'
    from counted_meetings
),

at_as_of as (
    -- on the roster at the quarter's as_of (as marts/disengagement_alerts.sql)
    select roster_rows.coalition_id, roster_rows.quarter, roster_rows.member_id
    from roster_rows
    where roster_rows.reason is null
      and roster_rows.joined_on <= roster_rows.as_of
      and (roster_rows.left_on is null or roster_rows.left_on >= roster_rows.as_of)
),

ordered as (
    -- each member's expected attendances (excused skipped), numbered oldest first
    select
        coalition_id,
        member_id,
        meeting_on,
        coalesce(attendance_sheet_row, meeting_sheet_row) as sheet_row,
        case when is_missing_row then 'meetings' else 'attendance' end as tab,
        attendance_sheet_column as sheet_column,
        status,
        is_missing_row,
        row_number() over (partition by coalition_id, member_id order by meeting_on, meeting_id) as idx
    from marts.expected_attendance
    where status <> 'excused'
),

latest_on as (
    -- the number of a member's expected attendances up to each meeting date
    select coalition_id, member_id, meeting_on, max(idx) as seen
    from ordered
    group by coalition_id, member_id, meeting_on
),

seen as (
    -- how many expected attendances each member on the roster at as_of had up to as_of
    select at_as_of.coalition_id, at_as_of.quarter, at_as_of.member_id, coalesce(latest_on.seen, 0) as seen
    from at_as_of
    join quarters using (coalition_id, quarter)
    asof left join latest_on
      on latest_on.coalition_id = at_as_of.coalition_id and latest_on.member_id = at_as_of.member_id
     and latest_on.meeting_on <= quarters.as_of
),

recent as (
    -- the last alert_absences of them, newest first (recency 1): keyed by their number, not a
    -- range join over every quarter
    select
        wanted.coalition_id,
        wanted.quarter,
        ordered.member_id,
        ordered.sheet_row,
        ordered.tab,
        ordered.sheet_column,
        ordered.status,
        ordered.is_missing_row,
        wanted.seen - ordered.idx + 1 as recency
    from (
        select seen.*, unnest(range(greatest(seen.seen - params.alert_absences, 0) + 1, seen.seen + 1)) as idx
        from seen
        join ref.params as params on params.coalition_id = seen.coalition_id
    ) as wanted
    join ordered
      on ordered.coalition_id = wanted.coalition_id and ordered.member_id = wanted.member_id
     and ordered.idx = wanted.idx
),

alerts as (
    select coalition_id, quarter, 'members' as tab, sheet_row, null::varchar as sheet_column, member_id,
           case when reason is not null then null
                when (coalition_id, quarter, member_id) in (select (coalition_id, quarter, member_id) from at_as_of) then 'on the roster at as_of'
                else 'on the roster, not at as_of' end as role,
           reason, 'member_id' as cell
    from roster_rows
    union all
    -- the rates compared: this quarter's and last quarter's expected attendances
    select this_q.coalition_id, this_q.quarter, rows.tab, rows.sheet_row, rows.sheet_column, rows.member_id,
           case when rows.included
                then case when rows.quarter = this_q.quarter then 'this quarter: ' else 'last quarter: ' end || rows.role
           end,
           case when not rows.included then rows.reason end,
           case when rows.tab = 'attendance' then 'status' end
    from quarters as this_q
    join at_as_of on at_as_of.coalition_id = this_q.coalition_id and at_as_of.quarter = this_q.quarter
    join quarters as in_q on in_q.coalition_id = this_q.coalition_id and in_q.seq in (this_q.seq, this_q.seq - 1)
    join lineage.attendance_rows as rows
      on rows.coalition_id = this_q.coalition_id and rows.quarter = in_q.quarter and rows.member_id = at_as_of.member_id
     and (rows.included or rows.reason = 'excused')
    union all
    select recent.coalition_id, quarter, tab, sheet_row, sheet_column, member_id,
           'last ' || params.alert_absences || ' expected: '
               || case when is_missing_row then 'absent (no attendance row)' else status end,
           null, case when tab = 'attendance' then 'status' end
    from recent
    join ref.params as params on params.coalition_id = recent.coalition_id
    where recency <= params.alert_absences
),

figures as (
    select coalition_id, 'active_members' as metric_id, * exclude (coalition_id) from engagement
    union all
    select coalition_id, 'engagement_rate', * exclude (coalition_id) from engagement
    union all
    select coalition_id, 'retention_rate', * exclude (coalition_id) from retention
    union all
    select coalition_id, 'disengagement_alerts', * exclude (coalition_id) from alerts
),

final as (
    select
        coalition_id,
        metric_id,
        null::varchar as dimension,
        quarter,
        tab,
        sheet_row,
        sheet_column,
        member_id,
        role,
        reason is null as included,
        reason,
        cell
    from figures
)

select * from final
