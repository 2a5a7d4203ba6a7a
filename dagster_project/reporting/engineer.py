"""The engineer pack: per owner, their open findings as Markdown and CSV, and a `cleanup.sh` with
every command present and commented out.

Owner strings come from resource tags and creators — untrusted input. They become folder names
only through `safe_name` (letters, digits and `@ . _ + -`; no separators, no leading dot, never
`..`), and appear in Markdown and shell comments with line breaks removed.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from dagster_project.findings.savings import counted_savings_per_currency, install_counted_findings
from dagster_project.money import format_money, format_per_currency
from dagster_project.reporting.budget_cards import engineer_alert_lines
from dagster_project.sql import load_sql, sql_parameters

NO_OWNER = "(no owner)"
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
# The control characters (Unicode category Cc, fixed by Unicode's stability policy: C0, DEL, C1)
# but the tab, in one regex pass (a unicodedata test per character was ~7x slower: ~0.05 s a demo run).
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")

CSV_COLUMNS = ["rank", "rule_id", "severity", "category", "workspace", "resource_name", "project", "savings",
               "currency", "action", "command", "evidence", "resource_id", "finding_id", "first_seen", "last_seen"]


def read_open_findings(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """The month's open findings, largest savings first; a missing owner becomes `(no owner)`."""
    install_counted_findings(con)
    statement = load_sql("reports/engineer_findings")
    frame = con.sql(statement, params=sql_parameters(statement, billing_month=month)).pl()
    # Budget and anomaly findings (events, savings 0) beside them: the owner's alerts section.
    events = con.sql(load_sql("reports/engineer_events"), params={"billing_month": month}).pl()
    if events.height:
        frame = pl.concat([frame, events.select(frame.columns).cast(frame.schema)])
    return frame.with_columns(pl.col("owner").fill_null(NO_OWNER))


def safe_name(owner: str) -> str:
    """A file-system-safe folder name for an owner string (not yet de-duplicated)."""
    if owner == NO_OWNER:
        return "no-owner"
    text = unicodedata.normalize("NFKC", owner)
    text = _UNSAFE.sub("_", text).strip("._-")
    text = re.sub(r"\.{2,}", ".", text)  # never `..`
    return text[:80] or "owner"


def owner_folders(owners: list[str]) -> dict[str, str]:
    """Owner → unique folder name. A name that had to be changed, or that collides (also when only
    the case differs), gets a short hash of the original owner so two owners never share a folder."""
    result: dict[str, str] = {}
    used: set[str] = set()
    for owner in sorted(owners, key=lambda o: (o != NO_OWNER, o)):
        name = safe_name(owner)
        if (name != owner and owner != NO_OWNER) or name.lower() in used:
            name = f"{name}-{hashlib.sha256(owner.encode()).hexdigest()[:8]}"
        used.add(name.lower())
        result[owner] = name
    return result


def one_line(text: object) -> str:
    """Text for a single line (a shell comment, a Markdown heading): line breaks become spaces and
    other control characters are dropped."""
    flat = _LINE_BREAKS.sub(" ", "" if text is None else str(text))
    return _CONTROLS.sub("", flat)


def commented_command(command: str) -> str:
    """The command as shell comment lines: every physical line starts with `# `, so nothing in it
    can run — a line break inside the command starts another comment line, never a command."""
    lines = _LINE_BREAKS.split(command)
    return "\n".join("# " + _CONTROLS.sub("", line) for line in lines)


# Characters that could start Markdown or HTML markup inline (emphasis, code, links, tables, tags,
# entities); an underscore only where it could delimit emphasis (not inside a word like ci_left).
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def md_text(text: object) -> str:
    """Inline Markdown text: one line, Markdown and HTML metacharacters backslash-escaped."""
    escaped = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), one_line(text))
    return ("\\" + escaped) if escaped[:1] in ("#", "+", "-", "=") else escaped


def md_code_block(text: str, language: str = "sh") -> str:
    """A fenced code block whose fence is longer than any backtick run inside the text."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _evidence_items(evidence: str | None) -> list[tuple[str, str]]:
    if not evidence:
        return []
    try:
        parsed = json.loads(evidence)
    except ValueError:
        return [("evidence", evidence)]
    if not isinstance(parsed, dict):
        return [("evidence", json.dumps(parsed, ensure_ascii=False))]
    return [(str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in parsed.items()]


def _savings_text(totals: dict[str, Decimal]) -> str:
    return format_per_currency(totals)


def open_for(row: dict) -> str:
    """`12 days (first seen 2026-11-01, last seen 2026-11-13)`: how long captures have shown it."""
    first, last = row.get("first_seen"), row.get("last_seen")
    if first is None or last is None:
        return "unknown"
    days = max(0, (last - first).days)
    return f"{days} day{'s' if days != 1 else ''} (first seen {first:%Y-%m-%d}, last seen {last:%Y-%m-%d})"


def _captures(frame: pl.DataFrame) -> str:
    found = sorted({str(dict(_evidence_items(text)).get("snapshot_captured_at", "")) for text in frame["evidence"]}
                   - {""}) if frame.height else []
    return ", ".join(found) or "unknown"


def render_markdown(owner: str, month: date, frame: pl.DataFrame) -> str:
    totals = counted_savings_per_currency(frame)
    lines = [f"# Cleanup findings — {md_text(owner)} — {month:%Y-%m}", "",
             f"{frame.height} open finding{'s' if frame.height != 1 else ''}, estimated savings "
             f"**{md_text(_savings_text(totals))}** (a resource flagged by several rules counts once, with its "
             "largest estimate). Largest savings first.", "",
             "The commands are printed, never run by aml-finops. Review each one before you run it; "
             "`cleanup.sh` beside this file holds them all, commented out.", "",
             f"Judged against the inventory captured {md_text(_captures(frame))}; breaches of the approved design "
             "(`governance_*` rules) are listed with the rest, with no savings.", "",
             *engineer_alert_lines(frame),
             "| # | rule | resource | workspace | project | severity | savings | open for |",
             "|---:|---|---|---|---|---|---:|---:|"]
    for rank, row in enumerate(frame.iter_rows(named=True), start=1):
        days = open_for(row).split(" (")[0]
        lines.append(f"| {rank} | {md_text(row['rule_id'])} | {md_text(row['resource_name'])} | "
                     f"{md_text(row['workspace'])} | {md_text(row['project'])} | {md_text(row['severity'])} | "
                     f"{format_money(row['savings'])} {md_text(row['currency'])} | {md_text(days)} |")
    for rank, row in enumerate(frame.iter_rows(named=True), start=1):
        lines += ["", f"## {rank}. {md_text(row['resource_name'])} — {md_text(row['rule_id'])}", "",
                  f"{md_text(row['action'])}", "",
                  f"- **Estimated savings:** {format_money(row['savings'])} {md_text(row['currency'])} per month",
                  f"- **Severity:** {md_text(row['severity'])} · **Category:** {md_text(row['category'])}",
                  f"- **Workspace:** {md_text(row['workspace'])} · **Project:** {md_text(row['project'])}",
                  f"- **Resource id:** `{one_line(row['resource_id']).replace('`', '')}`",
                  f"- **Finding id:** `{one_line(row['finding_id']).replace('`', '')}`",
                  f"- **Open for:** {md_text(open_for(row))}",
                  "- **Evidence:**"]
        for key, value in _evidence_items(row["evidence"]):
            lines.append(f"  - {md_text(key)}: {md_text(value)}")
        lines += ["", md_code_block(row["command"])]
    return "\n".join(lines) + "\n"


def render_csv(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index("rank", offset=1).with_columns(
        pl.col("rank").cast(pl.Int64)).select(CSV_COLUMNS)


def render_cleanup_script(owner: str, month: date, frame: pl.DataFrame) -> str:
    lines = ["#!/usr/bin/env bash",
             f"# Cleanup commands for {one_line(owner)}, from the aml-finops findings of {month:%Y-%m}.",
             "# Generated by aml-finops: do not edit, regenerate it.",
             "#",
             "# NOTHING RUNS AS GENERATED: every command below is commented out. Read each finding, uncomment",
             "# the command lines you want to run (remove the leading '# '), then run: bash cleanup.sh",
             "# aml-finops never runs these commands itself; they change or delete Azure resources.",
             "set -euo pipefail",
             ""]
    for rank, row in enumerate(frame.iter_rows(named=True), start=1):
        lines.append(f"# [{rank}] {one_line(row['rule_id'])} · {one_line(row['resource_name'])} "
                     f"({one_line(row['workspace'])}) · est. savings {format_money(row['savings'])} "
                     f"{one_line(row['currency'])}/month")
        lines.append(f"# {one_line(row['action'])}")
        lines.append(commented_command(row["command"]))
        lines.append("")
    if frame.height == 0:
        lines.append("# No open findings this month.")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class OwnerPack:
    owner: str
    folder: str
    findings: int
    savings: dict[str, Decimal]


def write_engineer_pack(frame: pl.DataFrame, month: date, engineers_dir: Path) -> list[OwnerPack]:
    """One folder per owner under `engineers_dir` with findings.md, findings.csv and cleanup.sh,
    plus `README.md` listing the owners. Returns what was written, largest savings first."""
    engineers_dir.mkdir(parents=True, exist_ok=True)
    owners = sorted(set(frame["owner"].to_list()))
    folders = owner_folders(owners)
    packs = []
    for owner in owners:
        mine = frame.filter(pl.col("owner") == owner).sort(
            ["savings", "rule_id", "resource_id", "finding_id"], descending=[True, False, False, False])
        folder = engineers_dir / folders[owner]
        # The folder name is built to be a single safe path segment; assert it stays inside.
        if folder.resolve().parent != engineers_dir.resolve():
            raise ValueError(f"unsafe owner folder for {owner!r}")
        folder.mkdir()
        (folder / "findings.md").write_text(render_markdown(owner, month, mine), encoding="utf-8")
        render_csv(mine).write_csv(folder / "findings.csv")
        script = folder / "cleanup.sh"
        script.write_text(render_cleanup_script(owner, month, mine), encoding="utf-8")
        script.chmod(0o755)
        packs.append(OwnerPack(owner, folders[owner], mine.height, counted_savings_per_currency(mine)))
    packs.sort(key=lambda p: (-sum(p.savings.values(), Decimal(0)), p.owner))
    index = [f"# Engineer pack — {month:%Y-%m}", "",
             "Open cleanup findings per owner, largest savings first. Each folder holds `findings.md` (read "
             "this), `findings.csv` and `cleanup.sh` (every command commented out).", "",
             "| owner | findings | estimated savings | folder |", "|---|---:|---:|---|"]
    for pack in packs:
        index.append(f"| {md_text(pack.owner)} | {pack.findings} | {md_text(_savings_text(pack.savings))} | "
                     f"[{md_text(pack.folder)}/findings.md](<{pack.folder}/findings.md>) |")
    if not packs:
        index.append("| _no open findings_ | 0 | 0.00 | |")
    (engineers_dir / "README.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    return packs
