-- What the survey instrument keeps from funders (the one definition; render.coordinator_only and
-- published_rows.sql read it), for every coalition of the database: (dimension kind, dimension)
-- for the items and scales declared funder = false, and the [survey] roles (satisfaction_item,
-- voice_item) whose item is funder = false, since the figures resting on a role show that item.
with

hidden_items as (
    select coalition_id, item from ref.survey_items where not funder
)

select coalition_id, 'item' as dimension_kind, item as dimension, null::varchar as role from hidden_items
union all
select coalition_id, 'scale', scale, null from ref.survey_scales where not funder
union all
select params.coalition_id, null, null, 'satisfaction_item' from ref.params as params
where params.satisfaction_item in (select item from hidden_items where hidden_items.coalition_id = params.coalition_id)
union all
select params.coalition_id, null, null, 'voice_item' from ref.params as params
where params.voice_item in (select item from hidden_items where hidden_items.coalition_id = params.coalition_id)
