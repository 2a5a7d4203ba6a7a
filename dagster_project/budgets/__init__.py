"""Budgets, month-end forecasts, daily anomalies and their delivery (issue 17)."""
