"""The command line: clear one-line errors, and `dagster definitions validate` on the code location."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_run_with_a_missing_folder_is_one_clear_line(tmp_path, capsys):
    code = main(["run", "--exports", str(tmp_path / "nope"), "--inventory", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"aml-finops run: error: exports folder not found: {tmp_path / 'nope'}"


def test_run_with_an_invalid_config_names_the_key(tmp_path, capsys):
    (tmp_path / "exports").mkdir()
    config = tmp_path / "finops.yaml"
    config.write_text("findings:\n  stale_keep_latest: zero\n")
    code = main(["run", "--exports", str(tmp_path / "exports"), "--inventory", str(tmp_path),
                 "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2  # an invalid config is a usage error
    assert f"{config}: findings.stale_keep_latest:" in err
    assert "Traceback" not in err


def test_bad_month_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["run", "--exports", str(tmp_path), "--inventory", str(tmp_path), "--month", "2026-13"])
    assert excinfo.value.code == 2
    assert "not a month: '2026-13' (expected YYYY-MM)" in capsys.readouterr().err


def test_run_without_any_export_fails_clearly(tmp_path, capsys):
    (tmp_path / "exports").mkdir()
    (tmp_path / "inventory").mkdir()
    code = main(["run", "--exports", str(tmp_path / "exports"), "--inventory", str(tmp_path / "inventory"),
                 "--out", str(tmp_path / "out")])
    assert code == 2  # nothing to run is a usage error, found before any work
    assert "no Cost Management export runs found under" in capsys.readouterr().err


def test_dagster_definitions_validate():
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "aml_finops" in result.stdout + result.stderr


def test_exports_and_inventory_can_come_from_finops_yaml(tmp_path, capsys):
    config = tmp_path / "finops.yaml"
    config.write_text("sources:\n  exports:\n    kind: blob\n    account_url: https://acct.blob.core.windows.net\n")
    code = main(["run", "--config", str(config), "--inventory", str(tmp_path)])
    assert code == 2
    assert f"{config}: sources.exports: kind 'blob' needs container" in capsys.readouterr().err
    config.write_text(f"sources:\n  exports:\n    path: {tmp_path / 'missing'}\n  inventory: {tmp_path}\n")
    code = main(["run", "--config", str(config)])
    assert code == 2
    assert f"exports folder not found: {tmp_path / 'missing'}" in capsys.readouterr().err


def test_cost_details_needs_a_month(tmp_path, capsys):
    code = main(["run", "--cost-details", "/subscriptions/x", "--inventory", str(tmp_path)])
    assert code == 2
    assert "--cost-details needs --month" in capsys.readouterr().err


def test_demo_data_never_replaces_a_folder_it_did_not_write(tmp_path, capsys):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    code = main(["demo-data", "--out", str(precious), "--months", "1"])
    assert code == 1
    assert "is not a demo tenant folder; refusing to replace it" in capsys.readouterr().err
    assert (precious / "thesis.tex").read_text() == "years of work"
    target = tmp_path / "tenant"
    assert main(["demo-data", "--out", str(target), "--months", "1"]) == 0
    assert main(["demo-data", "--out", str(target), "--months", "1", "--seed", "7"]) == 0  # its own: replaced
    assert json.loads((target / "demo-params.json").read_text())["seed"] == 7


def test_error_lines_drop_class_paths_but_never_a_file_name():
    from dagster_project.runner import one_line

    assert one_line("dagster._core.definitions.events.Failure: 2026-07: no export run") == "2026-07: no export run"
    assert one_line("cost_exports: _duckdb.InvalidInputException: Invalid Input Error:\n  x") == \
        "cost_exports: Invalid Input Error: x"
    # A message that starts with a file name keeps it (it names what to fix).
    assert one_line("finops.yaml: findings.stale_keep_latest: bad") == "finops.yaml: findings.stale_keep_latest: bad"
    assert one_line("part_0_0001.csv: cannot be read") == "part_0_0001.csv: cannot be read"
    assert one_line("TypeError: boom") == "TypeError: boom"


def test_only_the_console_script_changes_the_garbage_collector(tmp_path, capsys):
    """The CLI's own process collects less often and keeps what it imported before the command
    out of every collection (runner.tune_garbage_collection); as it returns it freezes the rest,
    so the interpreter's last collection skips them (runner.freeze_for_exit). A caller that passes
    argv (these tests, an embedding program) keeps its settings."""
    import gc

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    assert main(["run", "--exports", str(tmp_path / "missing"), "--inventory", str(tmp_path)]) == 2
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, frozen)
    script = ("import gc, sys; import dagster_project.cli as cli; seen = [gc.get_freeze_count()]; "
              "real = cli.COMMANDS['run']; cli.COMMANDS['run'] = lambda a: seen.append(gc.get_freeze_count()) or real(a); "
              f"sys.argv = ['aml-finops', 'run', '--exports', {str(tmp_path / 'missing')!r}, '--inventory', "
              f"{str(tmp_path)!r}]; code = cli.main(); "
              "print(gc.get_threshold(), seen[0] == 0 < seen[1] < gc.get_freeze_count()); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout.strip() == "(50000, 20, 20) True"


def test_demo_times_the_pipeline_apart_from_writing_the_tenant(tmp_path, capsys, monkeypatch):
    """`demo`'s "Months: … in N s" is the pipeline's time alone, as `run` prints it; writing the
    synthetic tenant (a first `make demo`) has its own figure on the tenant line."""
    import dagster_project.cli as cli
    import dagster_project.demo.generate as generate
    import dagster_project.runner as runner

    clock = [1000.0]
    monkeypatch.setattr(cli.time, "monotonic", lambda: clock[0])

    def write_tenant(out, **_):
        clock[0] += 5.0
        return generate.demo_paths(out)

    def run(*_, **__):
        clock[0] += 2.0
        return runner.RunSummary(out_dir=tmp_path, months=[])

    monkeypatch.setattr(generate, "generate_demo", write_tenant)
    monkeypatch.setattr(runner, "run_pipeline", run)
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"Demo tenant: {tmp_path / 'out' / 'demo-tenant'} (ready in 5.0 s;") for line in lines)
    assert lines[-1] == "Months:  in 2.0 s"
