import pytest

from conftest import ROOT
from coalition_metrics.config import DEFAULTS, load_settings
from coalition_metrics.errors import ConfigError


def test_example_config_matches_the_defaults(tmp_path):
    s = load_settings(ROOT / "coalition.example.toml", environ={})
    d = load_settings(None, environ={})
    assert s.data["survey_items"] == DEFAULTS["survey_items"]
    assert s.source_location == d.source_location == str(ROOT / "examples" / "riverside" / "csv")
    same_out = s.with_overrides(output={"folder": d.data["output"]["folder"]})
    assert same_out.config_hash() == d.config_hash()  # the file states exactly the defaults


def test_environment_overrides_the_file(tmp_path):
    (tmp_path / "c.toml").write_text('[quarters]\nfiscal_year_start_month = 1\n[output]\nfolder = "runs"\n')
    s = load_settings(tmp_path / "c.toml", environ={"COALITION_QUARTERS_FISCAL_YEAR_START_MONTH": "7",
                                                    "COALITION_METRICS_COUNTED_KINDS": "weekly_call,monthly_call"})
    assert s.fiscal_year_start_month == 7
    assert s.counted_kinds == ["weekly_call", "monthly_call"]
    assert s.output_folder == tmp_path / "runs"  # relative to the config file


@pytest.mark.parametrize(
    "text, message",
    [
        ("[quarters]\nfiscal_year_start_month = 13\n", "fiscal_year_start_month must be 1..12"),
        ("[quarters]\nfiscal_year_start_month = 'July'\n", "must be int"),
        ("[sources]\nlocation = 'x'\n", "unknown section [sources]"),
        ("[survey_items]\nsatisfaction = ''\n", "[survey_items] satisfaction has no question text"),
        ("[source]\ndate_format = 'YYYY/MM/DD'\n", 'date_format must be "M/D/YYYY" or "D/M/YYYY"'),
        ("[metrics]\ncounted_kinds = ['weekly-call']\n",
         "[metrics] counted_kinds has 'weekly-call', which is not a meeting kind. Did you mean \"weekly_call\"?"),
        ("[metrics]\ncounted_kinds = []\n", "[metrics] counted_kinds is empty"),
        ("[survey_items]\ntrust = \"Overall, how satisfied are you with your organization's participation in the coalition? \"\n",
         "[survey_items] satisfaction and [survey_items] trust name the same column"),
        ("[survey_items]\nvoice_heard = 'Timestamp'\n", "[survey] timestamp_column and [survey_items] voice_heard name the same column"),
        ("[tabs]\nsurvey = 'Members'\n", "[tabs] members and survey both name the tab 'Members'"),
        ("[columns]\ntasks = { owner = 'Owner' }\n", "[columns] tasks.owner: the tasks tab has no column 'owner'"),
        ("[columns]\nsurvey = { timestamp = 'When' }\n", "unknown setting 'survey' in [columns]"),
        ("[columns]\ntasks = { owner_id = 'Owner', accountable_id = ' owner ' }\n",
         "[columns] tasks: owner_id and accountable_id would both be read from the column ' owner '"),
        # numbers that would hold a run for ever, or wreck a figure without a word
        ("[metrics]\nalert_drop = nan\n", "[metrics] alert_drop must be a finite number"),
        ("[output]\nlock_timeout_seconds = inf\n", "[output] lock_timeout_seconds must be a finite number"),
        ("[source]\nretry_delays = [1.0, -1.0]\n", "[source] retry_delays must be a list of seconds, each a number 0 or more"),
        ("[source]\nretry_delays = ['a']\n", "not 'a' in it"),
        ("[source]\nretry_delays = [true]\n", "not True in it"),
        ("[source]\nretry_delays = [inf]\n", "not inf in it"),
        ("[source]\nretry_delays = [[1]]\n", "not [1] in it"),
        ("[source]\nretry_delays = [1e9]\n", "[source] retry_delays must be seconds from 0 to 3600 each"),
        ("[orchestration]\nextract_retry_delays = [1e6]\n", "extract_retry_delays must be seconds from 0 to 86400"),
        ("[source]\ntimeout_seconds = 0\n", "[source] timeout_seconds must be above 0 and at most 3600"),
        ("[source]\ntimeout_seconds = -1.0\n", "[source] timeout_seconds must be above 0"),
        ("[source]\nsheets_reads_per_minute = 100001\n", "sheets_reads_per_minute must be 1 to 100000"),
    ],
)
def test_malformed_config_is_named(tmp_path, text, message):
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        load_settings(tmp_path / "c.toml", environ={})


def test_unknown_environment_setting_is_an_error():
    with pytest.raises(ConfigError, match="COALITION_SOURCE_LOCATON"):
        load_settings(None, environ={"COALITION_SOURCE_LOCATON": "x"})


def test_credentials_are_not_in_the_config_hash_or_public_dict(tmp_path):
    s = load_settings(None, environ={"GOOGLE_APPLICATION_CREDENTIALS": "/secret/key.json"})
    assert s.credentials_file == "/secret/key.json"
    assert "/secret/key.json" not in str(s.public_dict())


def test_survey_scales_are_checked_and_default_to_the_survey_scale(tmp_path):
    import pytest

    from coalition_metrics.config import load_settings
    from coalition_metrics.errors import ConfigError

    s = load_settings(None, environ={}).with_overrides(survey_scales={"trust": [1, 7]})
    assert s.item_scale("trust") == (1, 7) and s.item_scale("satisfaction") == (1, 5)
    bad = tmp_path / "c.toml"
    bad.write_text("[survey_scales]\ntrust = [7, 1]\n")
    with pytest.raises(ConfigError, match=r"\[survey_scales\] trust must be \[min, max\] whole numbers with min < max"):
        load_settings(bad, environ={})


def test_columns_map_headers_from_the_file_and_the_environment(tmp_path):
    (tmp_path / "c.toml").write_text('[columns]\ntasks = { owner_id = "Owner" }\n')
    s = load_settings(tmp_path / "c.toml", environ={"COALITION_COLUMNS_MEMBERS": '{"organization": "Organisation"}'})
    from coalition_metrics.contract import headers_of

    assert headers_of("tasks", s)["owner_id"] == "Owner" and headers_of("tasks", s)["due_on"] == "due_on"
    assert headers_of("members", s)["organization"] == "Organisation"


# ---- the survey instrument (issue 12) -----------------------------------------------------------
LIKERT = '["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]'


@pytest.mark.parametrize(
    "text, message",
    [
        ("[survey_items]\nEquity = 'Small members have an equal say.'\n",
         "[survey_items] Equity: 'Equity' is not a usable code"),
        ("[survey_items]\ntimestamp = 'When did you answer?'\n", "[survey_items] timestamp: 'timestamp' is a column name"),
        ("[survey_items]\nequity = { question = 'Equal say?', labels = ['No', 'Yes'] }\n",
         "[survey_items] equity has 2 labels for the 5 points of its scale 1-5"),
        ("[survey_items]\ntrust = { question = 'Trust?', labels = ['5', '4', '3', '2', '1'] }\n",
         "[survey_items] trust label '5' reads as the number 5 but names point 1 of the scale"),
        ("[survey_items]\nequity = { question = 'Equal say?', scale = [1, 4], labels = " + LIKERT + " }\n",
         "[survey_items] equity has 5 labels for the 4 points of its scale 1-4"),
        ("[survey_items]\nequity = { question = 'Equal say?', scale = [5, 1] }\n",
         "[survey_items] equity scale must be [min, max] whole numbers with min < max"),
        ("[survey_items]\nequity = { question = 'Equal say?', reverse = 'yes' }\n",
         "[survey_items] equity reverse must be true or false"),
        ("[survey_items]\nequity = { question = 'Equal say?', weight = 2 }\n",
         "[survey_items] equity has unknown key(s) weight"),
        ("[survey_items]\nequity = { scale = [1, 5] }\n", "[survey_items] equity has no question text"),
        ("[survey_items]\nequity = 'Communication among members is timely and useful.'\n",
         "[survey_items] communication and [survey_items] equity name the same column"),
        ("[survey_scales]\nteam = { name = 'Team', items = ['trust', 'equity'] }\n",
         "[survey_scales] team items names 'equity', which is not a survey item"),
        ("[survey_scales]\ntrust = { name = 'Trust', items = ['trust', 'communication'] }\n",
         "[survey_scales] trust: 'trust' is also an item code"),
        ("[survey_scales]\nteam = { items = ['trust', 'communication'], bands = [{ label = 'concern', min = 1.0 }, "
         "{ label = 'strength', min = 4.0 }] }\n",
         "[survey_scales] team bands must be ordered by min, highest first"),
        ("[survey_scales]\nteam = { items = ['trust', 'communication'], min_items = 3 }\n",
         "[survey_scales] team min_items must be a whole number from 1 to 2"),
        ("[survey_scales]\nteam = { items = ['trust', 'communication'], min_items = 0 }\n",
         "[survey_scales] team min_items must be a whole number from 1 to 2"),
        ("[survey_scales]\nteam = { items = ['trust', 'trust'] }\n", "[survey_scales] team items lists an item twice"),
        ("[survey_scales]\ntrust = [1, 7]\nteam = { items = ['trust', 'communication'] }\n",
         "[survey_scales] team mixes items answered on different scales (1-5, 1-7)"),
        ("[survey_scales]\nequity = [1, 7]\n", "[survey_scales] equity = [1, 7] gives the answer range of an item 'equity'"),
        ("[survey]\nvoice_item = 'equity'\n", "[survey] voice_item = 'equity' names no survey item"),
        ("[survey]\nsatisfaction_item = 'overall'\n", "[survey] satisfaction_item = 'overall' names no survey item"),
        ("[survey]\ndefault_items = false\n", "the survey has no items"),
    ],
)
def test_bad_instrument_values_are_named(tmp_path, text, message):
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "c.toml", environ={})
    assert message in str(err.value)


def test_custom_items_and_scales_build_the_instrument(tmp_path):
    (tmp_path / "c.toml").write_text(
        "[survey]\nvoice_item = 'equity'\n"
        "[survey_items]\nequity = { question = 'Small members have an equal say.', labels = " + LIKERT + ", "
        "reverse = true, funder = false }\n"
        "[survey_scales]\nteam = { name = 'Team', items = ['trust', 'communication', 'equity'], min_items = 2, "
        "bands = [{ label = 'strength', min = 4.0 }, { label = 'borderline', min = 3.0 }, { label = 'concern', min = 1 }] }\n")
    s = load_settings(tmp_path / "c.toml", environ={})
    inst = s.instrument
    assert inst.item_codes == ("satisfaction", "trust", "voice_heard", "shared_vision", "communication",
                               "value_received", "equity")
    equity = inst.item("equity")
    assert (equity.scale_min, equity.scale_max, equity.reverse, equity.funder) == (1, 5, True, False)
    assert equity.parse("neutral") == 3.0 and equity.parse("5 - Strongly agree") == 5.0 and equity.score(5.0) == 1.0
    assert inst.voice_item == "equity" and inst.satisfaction_item == "satisfaction"
    team = inst.scale("team")
    assert team.items == ("trust", "communication", "equity") and team.min_items == 2
    assert [inst.band_of("team", v) for v in (4.0, 3.99, 3.0, 2.9999999999999996, 2.99, 1.5, 0.5, None)] == [
        "strength", "borderline", "borderline", "borderline", "concern", "concern", None, None]
    assert s.survey_items["equity"] == "Small members have an equal say."


def test_an_instrument_of_its_own_drops_the_default_items_and_their_roles(tmp_path):
    """default_items = false: exactly [survey_items]; the default roles name items it lacks, which
    leaves satisfaction_mean and voice_gap "no data" rather than failing."""
    (tmp_path / "c.toml").write_text("[survey]\ndefault_items = false\n[survey_items]\n"
                                     "trust_members = { question = 'I trust them.', scale = [1, 7] }\n")
    inst = load_settings(tmp_path / "c.toml", environ={}).instrument
    assert inst.item_codes == ("trust_members",)
    assert (inst.satisfaction_item, inst.voice_item, inst.trust_item) == (None, None, None)
    assert inst.item("trust_members").parse("Agree") is None  # a 1-5 label is no point of 1-7


def test_instrument_environment_overrides_keep_working(tmp_path):
    s = load_settings(None, environ={"COALITION_SURVEY_ITEMS_TRUST": "Do you trust the others?",
                                     "COALITION_SURVEY_SCALES_TRUST": "[1, 7]",
                                     "COALITION_SURVEY_SCALE_MAX": "5",
                                     "COALITION_SURVEY_ITEMS_EQUITY": '{"question": "Equal say?", "reverse": true}'})
    assert s.survey_items["trust"] == "Do you trust the others?" and s.item_scale("trust") == (1, 7)
    assert s.instrument.item("equity").reverse is True


def test_lists_of_seconds_from_the_environment_are_numbers():
    s = load_settings(None, environ={"COALITION_SOURCE_RETRY_DELAYS": "0.1, 2",
                                     "COALITION_ORCHESTRATION_EXTRACT_RETRY_DELAYS": "[5, 10.5]"})
    assert s.data["source"]["retry_delays"] == [0.1, 2.0]
    assert s.data["orchestration"]["extract_retry_delays"] == [5.0, 10.5]
    with pytest.raises(ConfigError, match="COALITION_SOURCE_RETRY_DELAYS.*not 'soon' in it"):
        load_settings(None, environ={"COALITION_SOURCE_RETRY_DELAYS": "1,soon"})



def test_a_path_from_home_is_the_user_s_home(tmp_path, monkeypatch):
    """The README writes credentials_file = "~/.config/coalition-metrics/service-account.json"."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "c.toml").write_text('[source]\ncredentials_file = "~/.config/key.json"\nlocation = "~/sheets"\n'
                                     '[output]\nfolder = "runs"\n')
    s = load_settings(tmp_path / "c.toml", environ={})
    assert s.credentials_file == str(tmp_path / "home" / ".config" / "key.json")
    assert s.source_location == str(tmp_path / "home" / "sheets")
    assert s.output_folder == tmp_path / "runs"
