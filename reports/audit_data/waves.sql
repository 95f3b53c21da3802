-- Audit pack, table "waves": one row per wave in range: counted responses, distinct respondents,
-- the roster and the response rate, as marts.survey_response_rate publishes them.
select wave, seq, count_responses, count_respondents, count_roster, response_rate
from marts.survey_response_rate
where seq between (select seq from ref.quarters where quarter = $wave_from)
              and (select seq from ref.quarters where quarter = $wave_to)
order by seq
