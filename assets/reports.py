"""Reports asset: the month's finance pack (HTML, Excel, chargeback CSV) and engineer pack (per owner:
Markdown, CSV, cleanup.sh) under `<out>/reports/<YYYY-MM>/`."""

from contextlib import nullcontext

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets._metadata import money_text
from assets.partitions import billing_month_partitions, partition_month
from dagster_project.inventory.history import judged_inventory, month_inventory, store_root
from dagster_project.reporting import write_month_reports
from dagster_project.reporting.engineer import one_line
from dagster_project.resources import InventoryResource, WarehouseResource


@asset(
    partitions_def=billing_month_partitions,
    deps=["project_spend_monthly", "cost_allocation", "findings"],
    group_name="reports",
)
def monthly_reports(context: AssetExecutionContext, warehouse: WarehouseResource,
                    inventory: InventoryResource) -> MaterializeResult:
    """Human reports of the month. Finance: a self-contained HTML report (spend by project, trend
    per project, top movers and what moved, what (unallocated) is made of, tag coverage, owners,
    cost centers, findings by project, sources), an Excel workbook with one sheet per view
    (workbook.xlsx, print-ready) and the chargeback CSV in cents. Engineers: per owner, their open
    findings by savings as Markdown and CSV, and a cleanup.sh with every command commented out.
    The inventory they cite is the capture that judged the month. Replaced atomically."""
    month = partition_month(context.partition_key)
    wh = warehouse.get()
    with wh.connect() as con:
        # The sources section and the owner hints describe the capture that judged the month.
        store = store_root(inventory, warehouse.out_dir)
        with judged_inventory(con, month_inventory(con, month, store)) if store is not None else nullcontext():
            # Written into a staged folder; `published_month` swaps it in with the month's tables.
            paths = write_month_reports(con, wh.out_dir, month, staging=wh.stage_folder(con, month))
    owners = [f"| {one_line(p.owner).replace('|', '/')} | {p.findings} | "
              f"{' + '.join(f'{money_text(v)} {c}' for c, v in p.savings.items()) or '0.00'} | {p.folder} |"
              for p in paths.owner_packs]
    chargeback_total = " + ".join(f"{money_text(v)} {c}" for c, v in paths.chargeback_totals.items()) or "0.00"
    preview = "\n".join([
        f"**Finance pack** `{paths.finance_dir}`: `{paths.html.name}`, `{paths.workbook.name}` "
        f"({len(paths.sheets)} sheets: {', '.join(paths.sheets)}), `{paths.chargeback_csv.name}` "
        f"({paths.chargeback_rows} lines; total {chargeback_total})",
        "",
        f"**Engineer pack** `{paths.engineers_dir}`: {paths.open_findings} open findings, "
        f"{len(paths.owners)} owners",
        "",
        "| owner | findings | est. savings / month | folder |",
        "|---|---:|---:|---|",
        *owners,
    ])
    return MaterializeResult(metadata={
        "billing_month": month.isoformat(),
        "reports_dir": MetadataValue.path(str(paths.root)),
        "finance_html": MetadataValue.path(str(paths.html)),
        "finance_workbook": MetadataValue.path(str(paths.workbook)),
        "chargeback_csv": MetadataValue.path(str(paths.chargeback_csv)),
        "engineers_dir": MetadataValue.path(str(paths.engineers_dir)),
        "currencies": ", ".join(paths.currencies),
        "chargeback_rows": paths.chargeback_rows,
        **{f"chargeback_total_{c}": MetadataValue.text(money_text(v)) for c, v in paths.chargeback_totals.items()},
        "workbook_sheets": ", ".join(paths.sheets),
        "open_findings": paths.open_findings,
        "owners": len(paths.owners),
        "preview": MetadataValue.md(preview),
    })
