-- materialize: view (only metric_lineage.sql reads it: the union is the table stored)
-- grain: one row per (figure, wave, sheet row of the survey tab [and role]): the rows behind the
-- survey figures. A wave is the quarter a response's timestamp falls in.
--   item_mean, item_sd, item_ci_low, item_ci_high, item_top2 [item] (marts/survey_items_by_wave.sql)
--     and satisfaction_mean (the satisfaction item): the answers to the item in the wave ('answer',
--     the item's column); a counted response with that answer blank is item non-response.
--   item_change, item_change_p [item], satisfaction_change(_p) (marts/survey_change_by_wave.sql):
--     the answers of this wave ('this wave') and of the last earlier wave with answers ('last wave').
--   response_rate (marts/survey_response_rate.sql): the wave's counted responses and the roster.
--   voice_gap (marts/voice_gap_by_wave.sql): the voice item's answers of large and small members
--     over the last [metrics] voice_gap_waves waves, and the respondents' members rows (size tier).
-- Superseded and unmatched submissions are in quarantine.rows, with validation's reason.
-- Reads staging.stg_survey_answers only through response_id, wave, member_id, item and score.
with

quarters as (
    select coalition_id, quarter, seq from ref.quarters
),

placed as (
    select * from lineage.survey_rows
),

responses as (
    select survey_rows.coalition_id, survey_rows.sheet_row, survey_rows.wave
    from lineage.survey_rows
    join ref.params as params
      on params.coalition_id = survey_rows.coalition_id and survey_rows.quarter = params.run_quarter
),

answers as (
    select coalition_id, response_id, item, score from staging.stg_survey_answers
),

item_rows as (
    -- each response row for each wave and item: the answer, or why it is left out
    select
        placed.coalition_id,
        placed.quarter,
        placed.sheet_row,
        placed.member_id,
        placed.wave,
        items.item,
        coalesce(placed.reason, case when answers.response_id is null
                                     then 'no answer to ' || items.item || ' (item non-response)' end) as reason
    from placed
    join ref.survey_items as items on items.coalition_id = placed.coalition_id
    left join answers
      on answers.coalition_id = placed.coalition_id and answers.response_id = placed.sheet_row
     and answers.item = items.item
),

changes as (
    select coalition_id, wave as quarter, item, last_wave from marts.survey_change_by_wave
),

paired as (
    -- this wave's rows, and the last earlier wave's rows with their own classification
    select changes.coalition_id, changes.quarter, changes.item, item_rows.sheet_row, item_rows.member_id,
           'this wave' as role, item_rows.reason
    from changes
    join item_rows
      on item_rows.coalition_id = changes.coalition_id and item_rows.quarter = changes.quarter
     and item_rows.item = changes.item
    where item_rows.wave is distinct from changes.last_wave or changes.last_wave is null
    union all
    select changes.coalition_id, changes.quarter, changes.item, item_rows.sheet_row, item_rows.member_id,
           'last wave', item_rows.reason
    from changes
    join item_rows
      on item_rows.coalition_id = changes.coalition_id and item_rows.quarter = changes.last_wave
     and item_rows.item = changes.item
    where item_rows.wave = changes.last_wave
),

params as (
    select coalition_id, satisfaction_item, voice_item, voice_gap_waves from ref.params
),

voice as (
    -- the voice item's rows of the pooled waves (the last voice_gap_waves up to this one)
    select
        this_q.coalition_id,
        this_q.quarter,
        item_rows.sheet_row,
        item_rows.member_id,
        members.size_tier,
        case
            when item_rows.reason like 'outside the wave%' and in_window.quarter is null
                then 'outside the last ' || params.voice_gap_waves || ' waves'
                     || coalesce(' (submitted in ' || item_rows.wave || ')', '')
            when item_rows.reason like 'outside the wave%' then null
            else item_rows.reason
        end as base_reason
    from quarters as this_q
    join params on params.coalition_id = this_q.coalition_id
    join item_rows
      on item_rows.coalition_id = this_q.coalition_id and item_rows.quarter = this_q.quarter
     and item_rows.item = params.voice_item
    left join quarters as in_window
      on in_window.coalition_id = this_q.coalition_id
     and in_window.quarter = item_rows.wave
     and in_window.seq between this_q.seq - params.voice_gap_waves + 1 and this_q.seq
    left join staging.stg_members as members
      on members.coalition_id = this_q.coalition_id and members.member_id = item_rows.member_id
),

voice_rows as (
    -- an answer of another pooled wave: its own wave's classification (non-response, ...)
    select
        voice.coalition_id,
        voice.quarter,
        voice.sheet_row,
        voice.member_id,
        case when voice.size_tier in ('large', 'small') then voice.size_tier || ' member' end as role,
        coalesce(
            voice.base_reason,
            own.reason,
            case when voice.member_id is null then 'no member (anonymous response)'
                 when voice.size_tier is null then 'member has no size tier'
                 when voice.size_tier not in ('large', 'small') then 'size tier ' || voice.size_tier || ': neither side'
            end) as reason
    from voice
    join params on params.coalition_id = voice.coalition_id
    left join responses on responses.coalition_id = voice.coalition_id and responses.sheet_row = voice.sheet_row
    left join item_rows as own
      on own.coalition_id = voice.coalition_id and own.quarter = responses.wave and own.sheet_row = voice.sheet_row and own.item = params.voice_item
),

figures as (
    -- item figures, one set per item
    select item_rows.coalition_id, metrics.metric_id, item_rows.item as dimension, item_rows.quarter, 'survey' as tab,
           item_rows.sheet_row, item_rows.member_id, 'answer' as role, item_rows.reason, item_rows.item as cell
    from item_rows
    cross join (values ('item_mean'), ('item_sd'), ('item_ci_low'), ('item_ci_high'), ('item_top2'))
        as metrics(metric_id)
    union all
    select item_rows.coalition_id, 'satisfaction_mean', null, item_rows.quarter, 'survey', item_rows.sheet_row,
           item_rows.member_id, 'answer', item_rows.reason, item_rows.item
    from item_rows
    join params on params.coalition_id = item_rows.coalition_id
    where item_rows.item = params.satisfaction_item
    union all
    select paired.coalition_id, metrics.metric_id, paired.item, paired.quarter, 'survey', paired.sheet_row,
           paired.member_id, paired.role, paired.reason, paired.item
    from paired
    cross join (values ('item_change'), ('item_change_p')) as metrics(metric_id)
    union all
    select paired.coalition_id, metrics.metric_id, null, paired.quarter, 'survey', paired.sheet_row,
           paired.member_id, paired.role, paired.reason, paired.item
    from paired
    join params on params.coalition_id = paired.coalition_id
    cross join (values ('satisfaction_change'), ('satisfaction_change_p')) as metrics(metric_id)
    where paired.item = params.satisfaction_item
    union all
    select coalition_id, 'response_rate', null, quarter, 'survey', sheet_row, member_id, 'response', reason, 'respondent'
    from placed
    union all
    select coalition_id, 'response_rate', null, quarter, 'members', sheet_row, member_id, 'on the roster', null, 'member_id'
    from marts.roster_by_quarter
    union all
    select voice_rows.coalition_id, 'voice_gap', null, quarter, 'survey', sheet_row, member_id, role, reason,
           params.voice_item
    from voice_rows
    join params on params.coalition_id = voice_rows.coalition_id
    union all
    -- the size tier of each member who answered in the pooled waves
    select distinct voice_rows.coalition_id, 'voice_gap', null, voice_rows.quarter, 'members', members.sheet_row,
           members.member_id, 'size tier of a respondent', null, 'size_tier'
    from voice_rows
    join staging.stg_members as members using (coalition_id, member_id)
    where voice_rows.reason is null
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
        member_id,
        case when reason is null then role end as role,
        reason is null as included,
        reason,
        cell
    from figures
)

select * from final
