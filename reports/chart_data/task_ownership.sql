-- Chart "task ownership share by member": each owner's share of the tasks due in the report's
-- quarter ($quarter), from marts.ownership_by_member, with the organization's name; largest first.
select
    shares.member_id,
    coalesce(members.organization, shares.member_id) as organization,
    members.member_id is null as is_unknown_member,
    shares.count_items,
    shares.share
from marts.ownership_by_member as shares
left join staging.stg_members as members using (member_id)
where shares.quarter = $quarter
  and shares.source = 'tasks'
order by shares.share desc, organization, shares.member_id
