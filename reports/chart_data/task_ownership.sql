-- Chart "task ownership share by member": each owner's share of the tasks due in the report's
-- quarter (scope.quarter), from marts.ownership_by_member, with the organization's name; largest
-- first. For each coalition of `scope` (keyed_reads.py).
select
    shares.coalition_id,
    shares.member_id,
    coalesce(members.organization, shares.member_id) as organization,
    members.member_id is null as is_unknown_member,
    shares.count_items,
    shares.share
from marts.ownership_by_member as shares
join scope on scope.coalition_id = shares.coalition_id and scope.quarter = shares.quarter
left join staging.stg_members as members
  on members.coalition_id = shares.coalition_id and members.member_id = shares.member_id
where shares.source = 'tasks'
order by shares.coalition_id, shares.share desc, organization, shares.member_id
