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
        ("[survey_items]\nsatisfactoin = 'x'\n", "unknown setting 'satisfactoin'"),
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
