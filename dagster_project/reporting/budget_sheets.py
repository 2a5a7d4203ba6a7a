"""The workbook's Budgets and Anomalies sheets (one named table per currency, like the others)."""

from __future__ import annotations

from dagster_project.reporting.finance import FinanceViews, percent_to_fraction


def budget_sheets(views: FinanceViews) -> list:
    from dagster_project.reporting.excel import Col, Sheet, _per_currency

    month = f"{views.month:%B %Y}"
    budgets = percent_to_fraction(views.budgets, ["forecast_pct_of_budget"])
    if budgets.height:
        budgets = budgets.with_columns(budgets["data_through"].cast(str))
    anomalies = views.anomalies
    return [
        Sheet("Budgets", f"Budgets: month to date and month-end forecast — {month}",
              "Monthly budgets of finops.yaml. The forecast is the month to date plus a trend with a weekend term "
              "over the last days (docs/reports.md, 'Budgets and forecasts'), rounded to the cent; the month to "
              "date is exact.",
              _per_currency(views, budgets, "Budgets", [
                  Col("scope", "Scope"), Col("name", "Budget for"), Col("owner", "Owner"),
                  Col("budget", "Budget", "money"), Col("month_to_date", "Month to date", "money"),
                  Col("forecast", "Forecast", "money"), Col("forecast_over_budget", "Forecast − budget", "signed_money"),
                  Col("forecast_pct_of_budget", "Forecast % of budget", "fraction"), Col("days_left", "Days left", "int"),
                  Col("data_through", "Data through"), Col("forecast_method", "Method"), Col("status", "Status")],
                  totals=False)),
        Sheet("Anomalies", f"Daily spend anomalies — {month}",
              "Days whose spend rose above the median of the same kind of day over the trailing weeks by more than "
              "the configured number of MADs (finops.yaml anomalies); a project's anomaly names the resource whose "
              "own change explains most of it.",
              _per_currency(views, anomalies.with_columns(anomalies["day"].cast(str)) if anomalies.height else anomalies,
                            "Anomalies", [
                  Col("day", "Day"), Col("scope", "Scope"), Col("resource_name", "Project / resource"),
                  Col("owner", "Owner"), Col("spend", "Spend", "money"), Col("expected", "Expected", "money"),
                  Col("excess", "Above expected", "signed_money"), Col("driver", "Driven by", "wrap", width=30),
                  Col("driver_excess", "Driver's change", "signed_money")], totals=False)),
    ]
