"""Human reports of a month: the finance pack (HTML, Excel, chargeback CSV) and the engineer pack
(per owner: Markdown, CSV, cleanup.sh). Domain code: no Dagster here."""

from dagster_project.reporting.packs import ReportPaths, month_reports_dir, write_month_reports

__all__ = ["ReportPaths", "month_reports_dir", "write_month_reports"]
