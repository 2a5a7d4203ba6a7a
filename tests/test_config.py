from decimal import Decimal

import pytest

from dagster_project.config import ConfigError, FinopsConfig, load_config, parse_config


def test_missing_file_means_every_default():
    config = load_config(None)
    assert config == FinopsConfig()
    assert config.tags.project[0] == "project"
    assert config.findings.stale_keep_latest == 3


def test_tag_keys_are_normalized_case_and_spaces():
    config = parse_config({"tags": {"project": [" Project ", "PROJ"]}})
    assert config.tags.project == ["project", "proj"]


def test_unknown_key_is_named_with_its_path(tmp_path):
    path = tmp_path / "finops.yaml"
    path.write_text("tags:\n  projetc: [project]\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(excinfo.value) == f"{path}: tags.projetc: unknown key"


def test_fixed_percentages_must_sum_to_100():
    with pytest.raises(ConfigError) as excinfo:
        parse_config({"attribution": {"shared_costs": {"policy": "fixed",
                                                       "percentages": {"a": 60, "b": 30}}}})
    message = str(excinfo.value)
    assert "attribution.shared_costs" in message and "sum to 100" in message and "90" in message
    ok = parse_config({"attribution": {"shared_costs": {"policy": "fixed", "percentages": {"a": "60.5", "b": "39.5"}}}})
    assert sum(ok.attribution.shared_costs.percentages.values()) == Decimal(100)


def test_wrong_type_names_the_list_index():
    with pytest.raises(ConfigError) as excinfo:
        parse_config({"attribution": {"rules": [{"project": "x", "resource_group": "rg-*"}, {"project": "y"}]}})
    assert "attribution.rules[1]" in str(excinfo.value)


def test_invalid_yaml_and_missing_file_are_clear(tmp_path):
    bad = tmp_path / "finops.yaml"
    bad.write_text("tags: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        parse_config(["a"])


def test_the_example_file_is_valid_and_documents_the_defaults():
    from pathlib import Path

    example = load_config(Path(__file__).resolve().parents[1] / "finops.example.yaml")
    defaults = FinopsConfig()
    assert example.findings == defaults.findings
    assert example.checks == defaults.checks
    assert example.tags.project == defaults.tags.project
    assert example.attribution.inheritance == defaults.attribution.inheritance
    assert example.attribution.shared_costs == defaults.attribution.shared_costs
