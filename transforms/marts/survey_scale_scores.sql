-- grain: one row per (response, scale) whose score counts: the respondent answered at least the
-- scale's min_items of its items (ref.survey_scales; default all of them).
-- score = the mean of the scale's items the response answered, each scored (after reverse
-- scoring, staging.stg_survey_answers); items_answered = how many of them it answered.
with

answers as (
    select coalition_id, response_id, wave, member_id, item, score from staging.stg_survey_answers
),

per_response as (
    select
        answers.coalition_id,
        answers.response_id,
        answers.wave,
        answers.member_id,
        members.scale,
        avg(answers.score order by answers.item) as score,
        count(answers.score) as items_answered
    from answers
    join ref.survey_scale_items as members using (coalition_id, item)
    group by answers.coalition_id, answers.response_id, answers.wave, answers.member_id, members.scale
),

counted as (
    select per_response.*
    from per_response
    join ref.survey_scales as scales using (coalition_id, scale)
    where per_response.items_answered >= scales.min_items
)

select * from counted
