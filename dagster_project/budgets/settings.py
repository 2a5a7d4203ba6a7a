"""The `budgets`, `anomalies` and `alerts` sections of `finops.yaml` (validated by `config.py`).

Budgets are monthly amounts in one currency per project (and optionally per cost center or
owner). Anomaly detection is on by default with the sensitivity below. Alerts name the
*environment variables* that hold the Teams and webhook URLs: a URL carries its secret in the
query string, so it is never written into the file, the run's metadata, a log or the cursor.
"""

from __future__ import annotations

import re
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budget(_Section):
    """One monthly budget: an amount in a currency (ISO 4217), and who hears about an overrun."""

    amount: Decimal = Field(gt=0)
    currency: str
    # Who the `budget` finding goes to; default: the owner with the most spend in the scope.
    owner: str | None = None

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        value = value.strip().upper()
        if not _CURRENCY.match(value):
            raise ValueError(f"{value!r} is not a three-letter currency code (e.g. USD, EUR)")
        return value


def _clean_names(budgets: dict[str, Budget]) -> dict[str, Budget]:
    cleaned: dict[str, Budget] = {}
    for name, budget in budgets.items():
        key = name.strip()
        if not key:
            raise ValueError("a budget needs a non-empty name")
        if key.lower() in {k.lower() for k in cleaned}:
            raise ValueError(f"{key!r} has two budgets (names compare without case)")
        cleaned[key] = budget
    return cleaned


class Budgets(_Section):
    """Monthly budgets per project, cost center or owner (names compare without case)."""

    projects: dict[str, Budget] = Field(default_factory=dict)
    cost_centers: dict[str, Budget] = Field(default_factory=dict)
    owners: dict[str, Budget] = Field(default_factory=dict)
    # Days of spend the month-end forecast fits its trend on (this month's, then the last ones
    # of the month before); fewer than `min_forecast_days` observed days: day-type averages only.
    forecast_days: int = Field(28, ge=7, le=62)
    min_forecast_days: int = Field(7, ge=2, le=31)

    @field_validator("projects", "cost_centers", "owners")
    @classmethod
    def _names(cls, value: dict[str, Budget]) -> dict[str, Budget]:
        return _clean_names(value)

    @model_validator(mode="after")
    def _window_holds_minimum(self) -> Budgets:
        if self.min_forecast_days > self.forecast_days:
            raise ValueError("min_forecast_days must not exceed forecast_days")
        return self


class Anomalies(_Section):
    """Daily anomalies per project and per Azure ML compute / deployment (docs/reports.md).

    A day is anomalous when its spend exceeds the median of the same kind of day (weekday or
    weekend) over the trailing `window_days` by more than `threshold_mad` × the MAD (median
    absolute deviation) and by at least `min_excess` (in the series' currency). The MAD is
    floored at `mad_floor_pct` % of the median, so a perfectly steady series needs a real jump.
    A series fires only with at least `min_history_days` baseline days since its first spend:
    too little data never fires."""

    enabled: bool = True
    window_days: int = Field(28, ge=7, le=120)
    min_history_days: int = Field(5, ge=3)
    threshold_mad: Decimal = Field(Decimal("6"), gt=0)
    mad_floor_pct: Decimal = Field(Decimal("5"), ge=0, le=100)
    # Below this a day is not worth an alert, however unusual (in the series' currency).
    min_excess: Decimal = Field(Decimal("25"), ge=0)

    @model_validator(mode="after")
    def _history_fits_window(self) -> Anomalies:
        # A weekend baseline has only 2 days a week: the minimum must be reachable by both kinds.
        if self.min_history_days > (self.window_days // 7) * 2:
            raise ValueError(f"min_history_days ({self.min_history_days}) cannot be reached by weekend days "
                             f"in a window of {self.window_days} days (at most {(self.window_days // 7) * 2})")
        return self


def _env_name(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if value.lower().startswith(("http://", "https://")):
        raise ValueError("name the environment variable that holds the URL, never the URL itself "
                         "(it carries a secret)")
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


class Alerts(_Section):
    """Where the alert sensor delivers: Microsoft Teams (dagster-msteams) and a JSON webhook."""

    # Environment variables holding an incoming-webhook URL (Teams) and a JSON webhook URL.
    teams_url_env: str | None = None
    webhook_url_env: str | None = None
    # Where readers open the packs (a file share, a static site); default: the local folder.
    reports_url: str | None = None
    # Findings of this severity or above are sent when new (budget and anomaly findings always).
    min_severity: str = "high"
    timeout_seconds: float = Field(10, gt=0, le=120)

    @field_validator("teams_url_env", "webhook_url_env")
    @classmethod
    def _envs(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("min_severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        if value not in ("high", "medium", "low"):
            raise ValueError("must be one of high, medium, low")
        return value
