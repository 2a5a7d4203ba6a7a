"""The whole pipeline on the demo tenant, held to the generator's ground truth (expected.json)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dagster_project.demo.generate import generate_demo
from dagster_project.runner import run_pipeline

CENT = Decimal("0.01")

CONTRACT_COLUMNS = {
    "cost_line_items": [
        "billing_month", "charge_period_start", "charge_period_end", "billed_cost", "effective_cost", "list_cost",
        "billing_currency", "charge_category", "charge_class", "resource_id", "resource_name", "resource_type",
        "service_name", "sub_account_id", "resource_group", "region", "meter_category", "charge_description",
        "consumed_quantity", "consumed_unit", "tags", "additional_info", "source_schema", "source_file",
        "source_row", "repairs", "sku_meter", "commitment_discount_id", "commitment_discount_name",
        "commitment_discount_type", "commitment_discount_status", "cost_allocation_rule_name"],
    "cost_allocation": [
        "billing_month", "billing_currency", "resource_id", "workspace_id", "aml_kind", "aml_name", "project",
        "owner", "cost_center", "allocation_method", "allocation_rule", "effective_cost", "billed_cost"],
    "project_spend_monthly": [
        "billing_month", "billing_currency", "project", "effective_cost", "billed_cost", "previous_effective_cost",
        "change_pct", "share_pct"],
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    paths = generate_demo(root / "demo-tenant", seed=42, months=3)
    out = root / "out"
    summary = run_pipeline(paths.exports, paths.inventory, out)
    expected = json.loads(paths.expected.read_text())
    con = duckdb.connect(str(out / "finops.duckdb"), read_only=True)
    yield {"paths": paths, "out": out, "summary": summary, "expected": expected, "con": con}
    con.close()


def _rows(con, sql, params=None):
    return con.execute(sql, params or {}).fetchall()


def test_published_tables_have_the_contract_columns(demo):
    con = demo["con"]
    for table, columns in CONTRACT_COLUMNS.items():
        assert [r[0] for r in _rows(con, f"DESCRIBE {table}")] == columns, table
    for table in ("cost_rejects", "inventory_workspaces", "inventory_computes", "inventory_asset_versions",
                  "inventory_endpoints", "inventory_deployments", "inventory_jobs", "findings"):
        assert _rows(con, f"SELECT count(*) FROM {table}")[0][0] >= 0  # noqa: S608 (identifier from a fixed list)
    for column in ("source_file", "source_row", "reason", "raw"):
        assert column in [r[0] for r in _rows(con, "DESCRIBE cost_rejects")]
    money_types = {r[0]: r[1] for r in _rows(con, "DESCRIBE cost_allocation")}
    assert money_types["effective_cost"].startswith("DECIMAL") and money_types["billed_cost"].startswith("DECIMAL")


def _per_currency(con, sql, params):
    """{currency: {key: amount}} from rows (currency, key, amount)."""
    out: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for currency, key, amount in _rows(con, sql, params):
        out[currency][key] = amount
    return dict(out)


def _cents(mapping):
    return {k: Decimal(v).quantize(CENT) for k, v in mapping.items()}


def test_every_month_reconciles_to_the_ground_truth_to_the_cent(demo):
    con, expected = demo["con"], demo["expected"]
    assert sorted(expected["months"]) == ["2026-08-01", "2026-09-01", "2026-10-01"]
    assert expected["currencies"] == ["EUR", "USD"]
    for month, truth in expected["months"].items():
        params = {"m": date.fromisoformat(month)}
        assert sorted(truth["currencies"]) == ["EUR", "USD"], month
        [(line_count,)] = _rows(con, "SELECT count(*) FROM cost_line_items WHERE billing_month = $m", params)
        assert line_count == truth["line_items"], month
        lines = dict(_rows(con, "SELECT billing_currency, sum(effective_cost) FROM cost_line_items "
                                "WHERE billing_month = $m GROUP BY 1", params))
        allocated = dict(_rows(con, "SELECT billing_currency, sum(effective_cost) FROM cost_allocation "
                                    "WHERE billing_month = $m GROUP BY 1", params))
        effective = _per_currency(con, "SELECT billing_currency, project, sum(effective_cost) FROM cost_allocation "
                                       "WHERE billing_month = $m GROUP BY ALL", params)
        billed = _per_currency(con, "SELECT billing_currency, project, sum(billed_cost) FROM cost_allocation "
                                    "WHERE billing_month = $m GROUP BY ALL", params)
        for currency, want in truth["currencies"].items():
            assert lines[currency] == Decimal(want["effective_cost"]), (month, currency)  # exact
            assert allocated[currency] == lines[currency], (month, currency)
            assert _cents(effective[currency]) == _cents(
                {p: v["effective_cost"] for p, v in want["projects"].items()}), (month, currency)
            assert _cents(billed[currency]) == _cents(
                {p: v["billed_cost"] for p, v in want["projects"].items()}), (month, currency)
            assert effective[currency].get("(unallocated)", Decimal(0)).quantize(CENT) == Decimal(
                want["unallocated_effective_cost"]).quantize(CENT)
        # The commitments' explicit lines: unused hours and purchases, never a project's.
        usd = truth["currencies"]["USD"]["projects"]
        assert Decimal(usd["(unused commitment)"]["effective_cost"]) > 0
        assert Decimal(usd["(commitment purchases)"]["billed_cost"]) > 0
        assert Decimal(usd["(commitment purchases)"]["effective_cost"]) == 0


def test_workspace_charges_reach_the_compute_and_endpoint_that_ran(demo):
    """Every type tag spelling and every place the size hides in the demo (the variants of
    expected.json) lands on the compute the generator billed."""
    con, expected = demo["con"], demo["expected"]
    variants = expected["variants"]
    assert {"details", "meter", "description"} <= set(variants["vm_size_in"].values())
    assert len(set(variants["compute_type_tags"].values())) >= 5
    for month, truth in expected["months"].items():
        got = _per_currency(con, "SELECT billing_currency, aml_kind || ':' || aml_name, sum(effective_cost) "
                                 "FROM cost_allocation WHERE billing_month = $m AND aml_kind IN ('compute', 'endpoint') "
                                 "GROUP BY ALL", {"m": date.fromisoformat(month)})
        for currency, want in truth["currencies"].items():
            want = {k: v for k, v in want["aml_resources"].items() if k.split(":")[0] in ("compute", "endpoint")}
            assert _cents(got.get(currency, {})) == _cents(want), (month, currency)
    rules = dict(_rows(con, "SELECT aml_name, string_agg(allocation_rule, ' | ') FROM cost_allocation "
                            "WHERE billing_month = '2026-10-01' AND aml_kind = 'compute' GROUP BY 1"))
    assert "size from charge description" in rules["ci-alice-dev"] and "US East 2" in rules["ci-alice-dev"]
    assert "size from meter name 'E4s v3'" in rules["ci-dave-vision"]
    assert "'Training Pool' unknown: any compute type" in rules["fc-cluster"]
    assert "'Compute Cluster' = AmlCompute" in rules["forecast-train"]


def test_a_hubs_dependencies_are_shared_by_its_projects(demo):
    con, expected = demo["con"], demo["expected"]
    for month, truth in expected["months"].items():
        [(hub_id, hub)] = truth["hub_split"].items()
        rows = dict(_rows(con, "SELECT project, sum(effective_cost) FROM cost_allocation "
                               "WHERE billing_month = $m AND workspace_id = $hub AND aml_kind = 'dependency' "
                               "AND billing_currency = $c GROUP BY 1",
                          {"m": date.fromisoformat(month), "hub": hub_id, "c": hub["currency"]}))
        assert _cents(rows) == _cents(hub["split"]), month
        assert set(rows) == set(hub["split"]) and "doc-search" in rows  # chat-api was deployed in September
        rules = {r[0] for r in _rows(con, "SELECT DISTINCT allocation_rule FROM cost_allocation "
                                          "WHERE billing_month = $m AND workspace_id = $hub",
                                     {"m": date.fromisoformat(month), "hub": hub_id})}
        assert all(r.startswith("shared cost of hub hub-genai and 2 workspaces using it (proj-chatbot, "
                                "proj-docsearch) split by direct spend") for r in rules), rules
    assert set(expected["months"]["2026-10-01"]["hub_split"][hub_id]["split"]) == {"chatbot", "doc-search"}


def test_the_finance_view_of_commitments_matches_the_generator(demo):
    from dagster_project.attribution.commitments import finance_commitments

    con, expected = demo["con"], demo["expected"]
    for month, truth in expected["months"].items():
        view = {r["commitment_discount_id"]: r for r in finance_commitments(con, date.fromisoformat(month)).iter_rows(
            named=True)}
        assert set(view) == set(truth["commitments"]), month
        for commitment_id, want in truth["commitments"].items():
            got = view[commitment_id]
            assert got["billing_currency"] == want["currency"]
            assert got["commitment_discount_name"] == want["name"]
            for column in ("purchased_billed_cost", "covered_effective_cost", "covered_hours",
                           "unused_effective_cost", "unused_hours"):
                assert got[column] == Decimal(want[column]), (month, want["name"], column)
            # What was bought is what was covered plus what went unused.
            assert got["purchased_billed_cost"] == got["covered_effective_cost"] + got["unused_effective_cost"]
        unused = sum((Decimal(w["unused_effective_cost"]) for w in truth["commitments"].values()), Decimal(0))
        assert Decimal(truth["currencies"]["USD"]["projects"]["(unused commitment)"]["effective_cost"]) == unused


def test_the_superseded_run_of_the_twice_delivered_month_does_not_count(demo):
    con = demo["con"]
    files = {r[0] for r in _rows(con, "SELECT DISTINCT source_file FROM cost_line_items")}
    exports = demo["paths"].exports
    manifests = sorted(exports.rglob("manifest.json"))
    runs_per_range = defaultdict(list)
    for manifest in manifests:
        runs_per_range[(manifest.parent.parent.parent.name, manifest.parent.parent.name)].append(manifest.parent)
    twice = [runs for runs in runs_per_range.values() if len(runs) == 2]
    assert twice, "the demo must deliver one month twice"
    for runs in twice:
        loaded = {run.name for run in runs if any(f"/{run.name}/" in f for f in files)}
        assert len(loaded) == 1


def test_findings_recall_and_precision_against_the_planted_cases(demo):
    """The cleanup rules; budget and anomaly findings (events) are tested in test_budgets_demo.py."""
    con, expected = demo["con"], demo["expected"]
    month = date.fromisoformat(expected["findings_month"])
    found = {(rule, rid): (currency, savings) for rule, rid, currency, savings in _rows(
        con, "SELECT rule_id, resource_id, currency, savings FROM findings WHERE billing_month = $m "
             "AND rule_id NOT IN ('budget', 'anomaly')", {"m": month})}
    planted = {(f["rule"], f["resource_id"]): f for f in expected["findings"]}
    assert set(planted) - set(found) == set(), "missed planted findings (recall)"
    assert set(found) - set(planted) == set(), "flagged something not planted (precision)"
    flagged_ids = {rid for _, rid in found}
    assert not flagged_ids & set(expected["clean_resources"])
    from dagster_project.findings.rules import RULES

    assert set(expected["rules_covered"]) == set(RULES), "the demo must plant a case of every rule"
    for key, want in planted.items():
        currency, savings = found[key]
        assert currency == want["currency"], key  # the currency of the cost the savings come from
        assert (savings > 0) == want["savings_positive"], (key, savings)
    assert any(c == "EUR" and s > 0 for c, s in found.values()), "the EUR findings have savings"


def test_findings_on_commitment_covered_compute_free_hours_not_cash(demo):
    con, expected = demo["con"], demo["expected"]
    covered = {c["resource_id"]: c for c in expected["commitment_covered"] if Decimal(c["on_demand_hours"]) == 0}
    rows = _rows(con, "SELECT resource_id, rule_id, savings, evidence FROM findings WHERE billing_month = $m",
                 {"m": date.fromisoformat(expected["findings_month"])})
    on_covered = [r for r in rows if r[0] in covered]
    assert {r[1] for r in on_covered} == {"ci_left_running", "ci_no_idle_shutdown"}
    for rid, _rule, savings, evidence in on_covered:
        facts = json.loads(evidence)
        assert savings == 0
        assert "freed, not cash" in facts["savings_basis"]
        assert Decimal(facts["freed_commitment_hours"]) > 0
        assert Decimal(facts["commitment_covered_hours"]) == Decimal(covered[rid]["committed_hours"])


def test_findings_carry_savings_evidence_and_owner(demo):
    con = demo["con"]
    rows = _rows(con, "SELECT rule_id, savings, evidence, owner, project, command, resource_name FROM findings "
                      "WHERE rule_id IN ('ci_stopped_abandoned', 'cluster_warm_nodes', 'ci_left_running')")
    assert {r[0] for r in rows} == {"ci_stopped_abandoned", "cluster_warm_nodes", "ci_left_running"}
    for rule, savings, evidence, owner, project, command, name in rows:
        facts = json.loads(evidence)
        assert facts["currency"] == "USD" and facts["savings_basis"]
        if rule == "ci_left_running":  # bob's GPU instance: covered by a reservation
            assert (owner, project, name) == ("bob@contoso.com", "recommendations", "ci-bob-gpu")
            assert command.startswith("az ml compute stop --name ci-bob-gpu ")
            assert "disk" in facts["savings_basis"] and Decimal(facts["cost_after_stop"]) > 0
        else:
            assert savings > 0


def test_savings_never_exceed_the_resources_own_cost(demo):
    con = demo["con"]
    rows = _rows(con, """
        SELECT f.rule_id, f.resource_name, f.savings, coalesce(u.effective_cost, 0)
        FROM findings AS f
        LEFT JOIN aml_resource_usage AS u
            ON u.billing_month = f.billing_month AND u.billing_currency = f.currency
            AND lower(u.aml_name) = lower(f.resource_name)
            AND f.resource_id LIKE u.workspace_id || '/%'
        WHERE f.savings > 0""")
    assert rows
    for rule, name, savings, cost in rows:
        assert savings <= cost, (rule, name, savings, cost)


def test_one_owner_per_resource_across_allocation_and_findings(demo):
    con = demo["con"]
    owners = defaultdict(set)
    for rid, owner in _rows(con, """
            SELECT CASE aml_kind
                WHEN 'compute' THEN workspace_id || '/computes/' || lower(aml_name)
                ELSE workspace_id || '/onlineendpoints/' || replace(lower(aml_name), '/', '/deployments/') END,
                owner
            FROM cost_allocation WHERE aml_kind IN ('compute', 'endpoint')"""):
        owners[rid].add(owner)
    for rid, owner in _rows(con, "SELECT resource_id, owner FROM findings "
                                 "WHERE resource_id LIKE '%/computes/%' OR resource_id LIKE '%/deployments/%'"):
        owners[rid].add(owner)
    several = {rid: o for rid, o in owners.items() if len(o) != 1}
    assert several == {}
    untagged = _rows(con, "SELECT owner FROM findings WHERE rule_id = 'untagged_spend' "
                          "AND billing_month = '2026-10-01' AND resource_id LIKE '%/computes/ci-temp-experiment'")
    assert untagged == [("frank@contoso.com",)]  # its creator, as on its idle-shutdown finding


def test_no_compute_bills_more_hours_than_it_has_nodes(demo):
    """Only the deployment the demo scales up for two days (demo/events.py) bills more hours than
    its current instance count allows: the warning the check gives for a resize in the month."""
    summary = demo["summary"]
    warned = [w for w in summary.warnings if "billed_hours_within_capacity" in w]
    assert len(warned) == 1 and "2026-10" in warned[0] and "endpoint churn-scoring/blue" in warned[0], warned


def test_parquet_mirrors_every_month(demo):
    out: Path = demo["out"]
    for month in demo["expected"]["months"]:
        for table in ("cost_line_items", "cost_allocation", "project_spend_monthly", "findings"):
            part = out / "parquet" / table / f"billing_month={month}" / "data.parquet"
            assert part.is_file(), part
    con = duckdb.connect()
    [(n,)] = con.execute("SELECT count(*) FROM read_parquet(?)",
                         [str(out / "parquet" / "cost_line_items" / "*" / "*.parquet")]).fetchall()
    assert n == sum(m["line_items"] for m in demo["expected"]["months"].values())


def test_rerunning_a_month_replaces_it(demo, tmp_path):
    paths, out = demo["paths"], demo["out"]
    con = demo["con"]
    before = _rows(con, "SELECT billing_currency, count(*), sum(effective_cost) FROM cost_allocation "
                        "WHERE billing_month = '2026-10-01' GROUP BY 1 ORDER BY 1")
    con.close()
    try:
        run_pipeline(paths.exports, paths.inventory, out, months=[date(2026, 10, 1)])
    finally:
        demo["con"] = duckdb.connect(str(out / "finops.duckdb"), read_only=True)
    after = _rows(demo["con"], "SELECT billing_currency, count(*), sum(effective_cost) FROM cost_allocation "
                               "WHERE billing_month = '2026-10-01' GROUP BY 1 ORDER BY 1")
    assert after == before
    [(n,)] = _rows(demo["con"], "SELECT count(*) FROM cost_line_items WHERE billing_month = '2026-10-01'")
    assert n == demo["expected"]["months"]["2026-10-01"]["line_items"]


def test_summary_reports_the_latest_month(demo):
    summary = demo["summary"]
    assert summary.latest_month == date(2026, 10, 1)
    assert summary.findings_open > 0
    # The share is of the summary's currency's month: never of a total over two currencies.
    truth = demo["expected"]["months"]["2026-10-01"]["currencies"][summary.currency]
    unallocated, total = Decimal(truth["unallocated_effective_cost"]), Decimal(truth["effective_cost"])
    assert summary.unallocated_share_pct == (unallocated * 100 / total).quantize(CENT)


def test_owner_and_cost_center_views_add_up_to_the_allocation(demo):
    con = demo["con"]
    for view in ("owner_spend_monthly", "cost_center_spend_monthly"):
        rows = _rows(con, f"SELECT billing_month, billing_currency, sum(effective_cost) FROM {view} "  # noqa: S608
                          "GROUP BY 1, 2 ORDER BY 1, 2")
        totals = _rows(con, "SELECT billing_month, billing_currency, sum(effective_cost) FROM cost_allocation "
                            "GROUP BY 1, 2 ORDER BY 1, 2")
        assert rows == totals, view
    owners = dict(_rows(con, "SELECT owner, effective_cost FROM owner_spend_monthly "
                             "WHERE billing_month = '2026-10-01' AND billing_currency = 'USD'"))
    assert owners["bob@contoso.com"] > 0


def test_the_ea_amortized_demo_reconciles_to_its_ground_truth(tmp_path):
    paths = generate_demo(tmp_path / "tenant", months=1, schema="ea-amortized")
    run_pipeline(paths.exports, paths.inventory, tmp_path / "out")
    expected = json.loads(paths.expected.read_text())["months"]["2026-10-01"]
    con = duckdb.connect(str(tmp_path / "out" / "finops.duckdb"), read_only=True)
    try:
        projects = {(c, p): v for c, p, v in _rows(
            con, "SELECT billing_currency, project, sum(effective_cost) FROM cost_allocation GROUP BY 1, 2")}
        schemas = {r[0] for r in _rows(con, "SELECT DISTINCT source_schema FROM cost_line_items")}
    finally:
        con.close()
    assert len(schemas) == 1 and next(iter(schemas)).startswith("ea-")
    want = defaultdict(Decimal)  # the EA files bill each currency apart; compare per currency
    for currency, truth in expected["currencies"].items():
        for p, v in truth["projects"].items():
            want[(currency, p)] = Decimal(v["effective_cost"])
    assert {k: v.quantize(CENT) for k, v in projects.items()} == {k: v.quantize(CENT) for k, v in want.items()}


MONEY = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})*\.\d{2}(?![\d%])")


def test_a_two_currency_run_labels_every_printed_and_published_amount(demo, tmp_path, capsys):
    """USD and EUR billed side by side: the Dagster metadata, the CLI summary and the tables state
    every amount with its own currency, and the EUR findings have savings (issue 12)."""
    from dagster import AssetSelection, DagsterInstance, materialize

    from dagster_project.cli import _print_summary
    from dagster_project.definitions import ALL_ASSETS, aml_inventory, default_resources
    from dagster_project.runner import inventory_partition, summarize

    paths, out = demo["paths"], tmp_path / "dagster"
    resources = default_resources(out_dir=str(out), exports=str(paths.exports), inventory=str(paths.inventory),
                                  config=None)
    with DagsterInstance.ephemeral() as instance:
        assert materialize(ALL_ASSETS, selection=AssetSelection.assets(aml_inventory), resources=resources,
                           instance=instance, partition_key=inventory_partition(paths.inventory)).success
        result = materialize(ALL_ASSETS, selection=AssetSelection.all() - AssetSelection.assets(aml_inventory),
                             partition_key="2026-10-01", resources=resources, instance=instance)
    assert result.success
    # Dagster metadata: one key per currency, each value labelled with it.
    for asset, prefix in (("cost_allocation", "effective_cost_"), ("project_spend_monthly", "effective_cost_"),
                          ("findings", "monthly_savings_")):
        # cost_allocation's node also materializes job_costs and cost_allocation_focus.
        [event] = [e for e in result.asset_materializations_for_node(asset) if e.asset_key.to_user_string() == asset]
        money = {k: v.value for k, v in event.metadata.items() if k.startswith(prefix)}
        assert set(money) == {f"{prefix}USD", f"{prefix}EUR"}, (asset, sorted(event.metadata))
        for key, text in money.items():
            assert text.endswith(" " + key.rsplit("_", 1)[1]), (asset, key, text)
        assert not [k for k in event.metadata if k in ("effective_cost", "monthly_savings")]
    [findings_event] = result.asset_materializations_for_node("findings")
    assert Decimal(findings_event.metadata["monthly_savings_EUR"].value.split()[0].replace(",", "")) > 0

    # What the CLI prints at the end of that run.
    capsys.readouterr()
    _print_summary(summarize(out, [date(2026, 10, 1)]), 1.0)
    printed = capsys.readouterr().out
    current = None
    for line in printed.splitlines():
        if line.startswith("Spend per project"):
            current = re.search(r"\((USD|EUR), effective cost\)", line).group(1)
        if not MONEY.search(line):
            continue
        # An amount is on a line naming its currency, or in the table titled with it.
        assert re.search(r"\b(USD|EUR)\b", line) or (line[:1] in "│┃" and current), line
    assert "Total USD:" in printed and "Total EUR:" in printed
    [findings_line] = [line for line in printed.splitlines() if line.startswith("Findings:")]
    assert "USD/month" in findings_line and "EUR/month" in findings_line

    # Published tables: every money column sits beside its currency.
    con = demo["con"]
    for table, currency in (("cost_line_items", "billing_currency"), ("cost_allocation", "billing_currency"),
                            ("project_spend_monthly", "billing_currency"), ("findings", "currency"),
                            ("aml_resource_usage", "billing_currency")):
        assert _rows(con, f"SELECT count(*) FROM {table} WHERE {currency} IS NULL OR {currency} = ''")[0][0] == 0  # noqa: S608
        assert {r[0] for r in _rows(con, f"SELECT DISTINCT {currency} FROM {table}")} == {"EUR", "USD"}, table  # noqa: S608


def test_demo_output_is_unchanged(demo):
    """Every published table and Parquet file of the demo hashes as recorded (tests/demo_hashes.py
    says what is hashed; re-record with scripts/record_demo_hashes.py when a change is deliberate)."""
    from demo_hashes import demo_hashes

    recorded = json.loads((Path(__file__).parent / "data" / "demo_table_hashes.json").read_text(encoding="utf-8"))
    current = demo_hashes(demo["out"])
    changed = sorted(k for k in recorded.keys() | current.keys() if recorded.get(k) != current.get(k))
    assert not changed, f"demo output differs from the recording in: {changed}"


def test_the_shared_clusters_split_matches_the_generator_to_the_cent(demo):
    """The platform team's shared GPU cluster: each job's and each project's share and the idle
    line, as the generator settled them from what it billed (expected.json job_showback)."""
    con, expected = demo["con"], demo["expected"]
    shared = [k for m in expected["months"].values() for k, v in m["job_showback"].items() if v["cluster"] == "gpu-shared"]
    assert len(shared) == 3  # billed in every month
    # What the demo plants on it: several projects, untagged jobs, node counts, a month boundary.
    jobs = _rows(con, "SELECT tags, instance_count, start_time, coalesce(end_time, captured_at) FROM inventory_jobs "
                      "WHERE compute_name = 'gpu-shared'")
    assert len({json.dumps(sorted(json.loads(t).items())) for t, *_ in jobs}) >= 5
    assert any(t == "{}" for t, *_ in jobs) and len({n for _, n, *_ in jobs}) >= 3
    # Two cross a month boundary; the one still running at the capture runs into November.
    assert sum(1 for *_, start, end in jobs if (start.year, start.month) != (end.year, end.month)) == 3
    for month, truth in expected["months"].items():
        params = {"m": date.fromisoformat(month)}
        for key, want in truth["job_showback"].items():
            compute_id, currency = key.split("|")
            name = want["cluster"]
            got_jobs = {r[0]: r[1:] for r in _rows(
                con, "SELECT job_id, project, node_hours, effective_cost FROM job_costs WHERE billing_month = $m "
                     "AND compute_id = $c AND billing_currency = $cur AND allocation_method = 'job_split'",
                {**params, "c": compute_id, "cur": currency})}
            assert set(got_jobs) == set(want["jobs"]), (month, name)
            for job_id, job in want["jobs"].items():
                project, node_hours, cost = got_jobs[job_id]
                assert project == job["project"], (month, name, job_id)
                assert node_hours == Decimal(job["node_hours"]).quantize(Decimal("0.000001")), (month, job_id)
                assert cost.quantize(CENT) == Decimal(job["effective_cost"]).quantize(CENT), (month, job_id)
            idle = _rows(con, "SELECT project, effective_cost, billed_node_hours FROM job_costs WHERE billing_month = $m "
                              "AND compute_id = $c AND billing_currency = $cur AND allocation_method = 'cluster_idle'",
                         {**params, "c": compute_id, "cur": currency})
            idle_cost = sum((r[1] for r in idle), Decimal(0))
            assert idle_cost.quantize(CENT) == Decimal(want["idle_effective_cost"]).quantize(CENT), (month, name)
            assert all(r[0] == want["project"] for r in idle)
            per_project = dict(_rows(
                con, "SELECT project, sum(effective_cost) FROM cost_allocation WHERE billing_month = $m "
                     "AND aml_name = $n AND billing_currency = $cur AND allocation_method = 'job_split' GROUP BY 1",
                {**params, "n": name, "cur": currency}))
            assert _cents(per_project) == _cents(want["projects"]), (month, name)
    october = expected["months"]["2026-10-01"]["job_showback"]
    [gpu] = [v for v in october.values() if v["cluster"] == "gpu-shared"]
    assert len(gpu["projects"]) >= 5 and Decimal(gpu["idle_share_pct"]) > 20


FOCUS_TYPES = {  # FOCUS 1.3 data types → DuckDB
    "BilledCost": "DECIMAL", "EffectiveCost": "DECIMAL", "ConsumedQuantity": "DECIMAL",
    "BillingPeriodStart": "TIMESTAMP WITH TIME ZONE", "BillingPeriodEnd": "TIMESTAMP WITH TIME ZONE",
    "ChargePeriodStart": "TIMESTAMP WITH TIME ZONE", "ChargePeriodEnd": "TIMESTAMP WITH TIME ZONE",
    "BillingCurrency": "VARCHAR", "ChargeCategory": "VARCHAR", "ResourceId": "VARCHAR", "ResourceName": "VARCHAR",
    "SubAccountId": "VARCHAR", "ServiceName": "VARCHAR", "AllocatedMethodId": "VARCHAR",
    "AllocatedResourceId": "VARCHAR", "AllocatedResourceName": "VARCHAR",
    # FOCUS's Key-Value Format and JSON columns: DuckDB's JSON type (text that must parse as JSON).
    "Tags": "JSON", "AllocatedMethodDetails": "JSON", "AllocatedTags": "JSON",
}


def test_cost_allocation_focus_meets_the_focus_13_split_allocation_requirements(demo):
    con, out = demo["con"], demo["out"]
    types = {r[0]: r[1] for r in _rows(con, "DESCRIBE cost_allocation_focus")}
    for column, want in FOCUS_TYPES.items():
        assert types[column].startswith(want), (column, types[column])
    rows = con.sql("SELECT * FROM cost_allocation_focus").pl()
    assert rows.height > 0
    for r in rows.iter_rows(named=True):
        details = json.loads(r["AllocatedMethodDetails"])  # JSON object, Elements array
        [element] = details["Elements"]
        assert set(element) >= {"AllocatedRatio", "UsageUnit", "UsageQuantity"}
        assert element["UsageUnit"] == "NodeHours" and 0 <= element["AllocatedRatio"] <= 1
        assert r["AllocatedMethodId"]  # never null on an allocated charge
        for key in details:
            assert key == "Elements" or key.startswith("x_")  # custom keys are x_-prefixed
        if r["x_AllocationMethod"] == "cluster_idle":  # the unallocated portion of the origin charge
            assert r["AllocatedResourceId"] is None and r["AllocatedResourceName"] is None
        else:
            assert r["AllocatedResourceId"].startswith(r["x_WorkspaceId"] + "/jobs/")
            allocated = json.loads(r["AllocatedTags"])
            resource = {k.strip().lower() for k in json.loads(r["Tags"])}
            assert not {k.strip().lower() for k in allocated} & resource  # never repeats a resource tag
        assert r["ChargePeriodStart"] < r["ChargePeriodEnd"]
    # Per origin charge: ratios sum to exactly 1, allocated costs to the origin charge's.
    groups = _rows(con, """
        SELECT x_OriginChargeId, sum(EffectiveCost), any_value(x_OriginEffectiveCost), sum(BilledCost),
               any_value(x_OriginBilledCost),
               sum(CAST(json_extract_string(AllocatedMethodDetails, '$.Elements[0].AllocatedRatio') AS DECIMAL(38, 12)))
        FROM cost_allocation_focus GROUP BY 1""")
    for origin, effective, origin_effective, billed, origin_billed, ratios in groups:
        assert (effective, billed, ratios) == (origin_effective, origin_billed, 1), origin
    # Each origin charge is its cluster's cost of the month in cost_allocation.
    origin_totals = dict(_rows(con, "SELECT ResourceName || '|' || BillingCurrency || '|' || billing_month, "
                                    "any_value(x_OriginEffectiveCost) FROM cost_allocation_focus GROUP BY x_OriginChargeId, 1"))
    cluster_totals = dict(_rows(con, "SELECT aml_name || '|' || billing_currency || '|' || billing_month, "
                                     "sum(effective_cost) FROM cost_allocation "
                                     "WHERE allocation_method IN ('job_split', 'cluster_idle') GROUP BY 1"))
    assert origin_totals == cluster_totals
    # Also as Parquet, per month, with the same rows.
    parquet = out / "parquet" / "cost_allocation_focus"
    files = sorted(parquet.glob("billing_month=*/*.parquet"))
    assert len(files) == 3
    assert duckdb.execute("SELECT count(*) FROM read_parquet($p)", {"p": f"{parquet}/*/*.parquet"}).fetchall()[0][0] \
        == rows.height


def test_the_packs_show_job_costs_per_submitter_idle_per_cluster_and_top_experiments(demo):
    con, out = demo["con"], demo["out"]
    month_dir = out / "reports" / "2026-10"
    jobs_dir = month_dir / "engineers" / "_jobs"
    per_submitter = {s: (n, c) for s, n, c in _rows(
        con, "SELECT submitter, count(*), sum(effective_cost) FROM job_costs WHERE billing_month = '2026-10-01' "
             "AND allocation_method = 'job_split' AND billing_currency = 'USD' GROUP BY 1")}
    index = (jobs_dir / "README.md").read_text()
    assert "alice@contoso.com" in per_submitter and "platform-bot@contoso.com" in per_submitter
    for submitter, (jobs, cost) in per_submitter.items():
        assert f"| {submitter} | {jobs} | {cost.quantize(CENT):,} USD |" in index, submitter
    alice = (jobs_dir / "alice@contoso.com.md").read_text()
    assert "fraud-gnn" in alice and "gpu-shared" in alice
    assert "_jobs/README.md" in (month_dir / "engineers" / "README.md").read_text()
    html = (month_dir / "finance" / "report.html").read_text()
    card = html[html.index("Shared compute clusters"):]
    card = card[:card.index("</div></div>") if "</div></div>" in card else len(card)]
    [(idle_share,)] = _rows(con, "SELECT CAST(sum(effective_cost) FILTER (WHERE allocation_method = 'cluster_idle') "
                                 "/ sum(effective_cost) AS DECIMAL(18, 6)) FROM job_costs "
                                 "WHERE billing_month = '2026-10-01' AND compute_name = 'gpu-shared'")
    from dagster_project.money import format_fraction

    assert "gpu-shared" in card and format_fraction(idle_share) in card
    assert "Most expensive experiments" in card and "fraud-gnn" in card
    [(finding_savings,)] = _rows(con, "SELECT savings FROM findings WHERE billing_month = '2026-10-01' "
                                      "AND rule_id = 'cluster_idle_share'")
    [(idle_cost,)] = _rows(con, "SELECT sum(effective_cost) FROM job_costs WHERE billing_month = '2026-10-01' "
                                "AND compute_name = 'gpu-shared' AND allocation_method = 'cluster_idle'")
    assert finding_savings == idle_cost.quantize(CENT)  # the idle cost (on demand, no reservation) is the saving
    import openpyxl

    sheet = openpyxl.load_workbook(month_dir / "finance" / "workbook.xlsx")["Shared clusters"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    [gpu] = [r for r in rows if r[0] == "gpu-shared"]
    assert Decimal(repr(gpu[5])) == idle_cost  # the exact idle cost, shown to the cent
    assert any(r[0] == "fraud-gnn" for r in rows)  # the most expensive experiment
