-- grain: one row per wave (every quarter)
-- voice_gap = mean score of the voice item ([survey] voice_item, ref.params; voice_heard by default)
-- of large members - the same of small members, pooled over the last [metrics] voice_gap_waves waves
-- up to this one (a rolling year by default). The member's size tier is the members tab's. n = the
-- smaller side's number of answers, so the gap is suppressed unless each side has at least small_n
-- answers. No rows when the instrument has no voice item: the figure is "no data".
with

answers as (
    select answers.coalition_id, answers.wave, quarters.seq, members.size_tier, answers.score
    from staging.stg_survey_answers as answers
    join ref.quarters as quarters on quarters.coalition_id = answers.coalition_id and quarters.quarter = answers.wave
    join staging.stg_members as members on members.coalition_id = answers.coalition_id and members.member_id = answers.member_id
    join ref.params as params on params.coalition_id = answers.coalition_id
    where answers.item = params.voice_item
      and members.size_tier in ('large', 'small')
),

pooled as (
    select
        quarters.coalition_id,
        quarters.quarter as wave,
        quarters.seq,
        count(answers.score) filter (where answers.size_tier = 'large') as n_large,
        count(answers.score) filter (where answers.size_tier = 'small') as n_small,
        avg(answers.score) filter (where answers.size_tier = 'large') as mean_large,
        avg(answers.score) filter (where answers.size_tier = 'small') as mean_small
    from ref.quarters as quarters
    join ref.params as params using (coalition_id)
    left join answers
      on answers.coalition_id = quarters.coalition_id
     and answers.seq between quarters.seq - params.voice_gap_waves + 1 and quarters.seq
    where params.voice_item is not null
    group by quarters.coalition_id, quarters.quarter, quarters.seq
),

final as (
    select
        *,
        mean_large - mean_small as voice_gap,
        least(n_large, n_small) as n
    from pooled
)

select * from final
