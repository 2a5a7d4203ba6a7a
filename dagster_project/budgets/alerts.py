"""What the alert sensor sends after a month run, and the JSON it sends (no Dagster here).

An alert is one of: a failed blocking check of the run, a new open finding of `alerts.min_severity`
or above, a budget finding, an anomaly finding — each with its numbers and where the packs are.
Every alert has a stable key (a finding's id; a check's run, asset and name); the sensor's cursor
remembers the keys each channel was sent, so no channel gets the same alert twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date

import polars as pl

from dagster_project.money import format_money

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}
FORMAT = "aml-finops-alerts/1"


@dataclass(frozen=True)
class FailedCheck:
    run_id: str
    asset: str
    check: str
    description: str | None


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str  # failed_check | budget | anomaly | finding
    month: str  # YYYY-MM
    title: str
    text: str
    facts: dict[str, str] = field(default_factory=dict)
    owner: str | None = None


@dataclass(frozen=True)
class Packs:
    """Where readers open the month's packs."""

    finance: str
    engineers: str

    @classmethod
    def of(cls, month: date, out_dir: str, reports_url: str | None) -> Packs:
        base = (reports_url.rstrip("/") if reports_url else f"{out_dir.rstrip('/')}/reports")
        folder = f"{base}/{month:%Y-%m}"
        return cls(f"{folder}/finance/report.html", f"{folder}/engineers/README.md")


def check_alerts(month: date, failed: list[FailedCheck]) -> list[Alert]:
    return [Alert(key=f"check|{c.run_id}|{c.asset}|{c.check}", kind="failed_check", month=f"{month:%Y-%m}",
                  title=f"Blocking check {c.check} failed on {c.asset} ({month:%Y-%m})",
                  text=(c.description or "the check did not pass") + "; the month was not published.",
                  facts={"asset": c.asset, "check": c.check, "run_id": c.run_id})
            for c in failed]


def _facts(rule_id: str, evidence: dict, row: dict) -> dict[str, str]:
    currency = evidence.get("currency") or row["currency"]
    if rule_id == "budget":
        return {"budget": f"{evidence['budget']} {currency}", "forecast": f"{evidence['forecast']} {currency}",
                "month to date": f"{evidence['month_to_date']} {currency}", "days left": str(evidence["days_left"]),
                "owner": row["owner"] or "(none)"}
    if rule_id == "anomaly":
        return {"day": evidence["day"], "spend": f"{evidence['spend']} {currency}",
                "expected": f"{evidence['expected']} {currency}", "excess": f"{evidence['excess']} {currency}",
                "driver": str(evidence.get("driver")), "owner": row["owner"] or "(none)"}
    return {"severity": row["severity"], "savings": f"{format_money(row['savings'])} {row['currency']}/month",
            "resource": row["resource_name"] or row["resource_id"], "owner": row["owner"] or "(none)"}


def finding_alerts(month: date, findings: pl.DataFrame, min_severity: str) -> list[Alert]:
    """Open budget and anomaly findings, and open findings of `min_severity` or above."""
    floor = SEVERITY_RANK[min_severity]
    alerts = []
    for row in findings.filter(pl.col("status") == "open").sort("rule_id", "finding_id").iter_rows(named=True):
        rule_id = row["rule_id"]
        if rule_id not in ("budget", "anomaly") and SEVERITY_RANK.get(row["severity"], 0) < floor:
            continue
        evidence = json.loads(row["evidence"] or "{}")
        kind = rule_id if rule_id in ("budget", "anomaly") else "finding"
        title = {"budget": f"Budget: {row['resource_name']} forecast above budget ({month:%Y-%m})",
                 "anomaly": f"Anomaly: {row['resource_name']} on {evidence.get('day')}",
                 "finding": f"{row['severity'].capitalize()} finding: {rule_id} on {row['resource_name']}"}[kind]
        alerts.append(Alert(key=row["finding_id"], kind=kind, month=f"{month:%Y-%m}", title=title,
                            text=row["action"] or "", facts=_facts(rule_id, evidence, row), owner=row["owner"]))
    return alerts


def webhook_payload(alerts: list[Alert], packs: dict[str, Packs]) -> dict:
    """The generic JSON webhook body: every alert with its numbers, and the packs of its month."""
    return {"format": FORMAT, "alerts": [
        {**asdict(a), "packs": asdict(packs[a.month])} for a in alerts]}


def card_texts(alerts: list[Alert], packs: dict[str, Packs]) -> list[str]:
    """The text blocks of a Teams card (Markdown): a headline, one block per alert, the packs."""
    blocks = [f"**aml-finops: {len(alerts)} new alert{'s' if len(alerts) != 1 else ''}**"]
    for a in alerts:
        facts = "; ".join(f"{k}: {v}" for k, v in a.facts.items())
        blocks.append(f"**{a.title}**\n\n{a.text}\n\n{facts}")
    for month, p in sorted(packs.items()):
        if any(a.month == month for a in alerts):
            blocks.append(f"Packs {month}: finance {p.finance}; engineers {p.engineers}")
    return blocks


@dataclass
class AlertCursor:
    """Run ids already looked at, and per channel the alert keys already sent."""

    runs: set[str] = field(default_factory=set)
    sent: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> AlertCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(set(data.get("runs", [])), {k: set(v) for k, v in data.get("sent", {}).items()})

    def dump(self) -> str:
        return json.dumps({"runs": sorted(self.runs), "sent": {k: sorted(v) for k, v in sorted(self.sent.items())}})

    def new_for(self, channel: str, alerts: list[Alert]) -> list[Alert]:
        seen = self.sent.get(channel, set())
        return [a for a in alerts if a.key not in seen]

    def mark(self, channel: str, alerts: list[Alert]) -> None:
        self.sent.setdefault(channel, set()).update(a.key for a in alerts)
