-- Audit pack, the inputs of Cronbach's alpha: one row per (scale, response, item) for the
-- responses that answered every item of the scale (listwise: alpha needs a complete item set).
-- The whole instrument (every item of ref.survey_items) is listed as kind 'instrument'.
with

scale_items as (
    select 'scale' as kind, scale, item from ref.survey_scale_items
    union all
    select 'instrument' as kind, '' as scale, item from ref.survey_items
),

sizes as (
    select kind, scale, count(*) as k from scale_items group by kind, scale
),

item_values as (
    select scale_items.kind, scale_items.scale, values.wave, values.seq, values.response_id,
           values.measure as item, values.value
    from audit_values as values
    join scale_items on scale_items.item = values.measure
    where values.kind = 'item'
),

complete as (
    select item_values.kind, item_values.scale, item_values.response_id
    from item_values
    join sizes using (kind, scale)
    group by item_values.kind, item_values.scale, item_values.response_id, sizes.k
    having count(*) = sizes.k
)

select item_values.*
from item_values
join complete using (kind, scale, response_id)
order by kind desc, scale, seq, response_id, item
