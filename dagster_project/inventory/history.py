"""Which inventory capture judges which billing month, and what a capture could not list.

A *snapshot store* is a folder with one subfolder per capture, named by its UTC capture time
(``2026-11-24T060000Z/``), each an ordinary snapshot folder whose ``snapshot.json`` carries
``captured_at`` (the Blob store is synced to a local folder of that layout first). One plain
snapshot folder (``--inventory DIR``, the demo) is a store of one capture.

The rule (docs/findings.md, "Which snapshot judges a month"): a month is judged against the
capture nearest **after** the month ends, the latest one if none is later. A capture that comes
more than `TIMELY_DAYS` after the month end is a *backfill*: it shows the estate as it was then,
so findings say so and cite no event after the month (`censor_after_month`).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import polars as pl

from dagster_project.inventory.snapshot_paths import SNAPSHOT_INFO_FILE, read_snapshot_info

# A capture within this many days after the month end still describes the month's end state.
TIMELY_DAYS = 7

UTC_TIME = pl.Datetime("us", "UTC")

# The columns of `inventory_failures` (recorded by the inventory asset): one row per failed call.
FAILURES_SCHEMA = pl.Schema({
    "captured_at": UTC_TIME,
    "subscription": pl.Utf8,
    "workspace": pl.Utf8,
    "call": pl.Utf8,
    "reason": pl.Utf8,
})


@dataclass(frozen=True)
class Capture:
    """One snapshot folder of a store and the time it was captured (UTC)."""

    captured_at: datetime
    path: Path


def month_end(month: date) -> datetime:
    """The first instant after `month` (UTC): 2026-08 ends at 2026-09-01T00:00Z."""
    first = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return datetime(first.year, first.month, 1, tzinfo=UTC)


def list_captures(store: Path) -> list[Capture]:
    """Every capture of `store`, oldest first; `store` may be one plain snapshot folder.

    Raises `ValueError` naming the folder when it holds no snapshot, or naming the subfolder whose
    `snapshot.json` is unreadable (a broken capture is never skipped silently). Two captures with
    the same `captured_at` are refused: which one judges a month would be arbitrary.
    """
    store = Path(store)
    if not store.is_dir():
        raise ValueError(f"{store}: inventory snapshot folder not found")
    if (store / SNAPSHOT_INFO_FILE).is_file():
        return [Capture(read_snapshot_info(store).captured_at, store)]
    captures = [Capture(read_snapshot_info(child).captured_at, child)
                for child in sorted(store.iterdir()) if child.is_dir() and (child / SNAPSHOT_INFO_FILE).exists()]
    if not captures:
        raise ValueError(f"{store}: neither a snapshot ({SNAPSHOT_INFO_FILE}) nor a store of dated snapshot folders")
    captures.sort(key=lambda c: c.captured_at)
    for earlier, later in zip(captures, captures[1:], strict=False):
        if earlier.captured_at == later.captured_at:
            raise ValueError(f"{store}: {earlier.path.name} and {later.path.name} have the same captured_at "
                             f"{later.captured_at.isoformat()}")
    return captures


@dataclass(frozen=True)
class Selection:
    """The capture that judges a month, and how it relates to the month."""

    month: date
    capture: Capture
    month_end: datetime

    @property
    def captured_at(self) -> datetime:
        return self.capture.captured_at

    @property
    def after_month(self) -> bool:
        """Captured after the month ended: events after `month_end` must not be cited."""
        return self.captured_at >= self.month_end

    @property
    def backfill(self) -> bool:
        """Captured more than `TIMELY_DAYS` after the month ended (no timelier capture exists)."""
        return self.captured_at > self.month_end + timedelta(days=TIMELY_DAYS)

    def note(self) -> str | None:
        """What a reader of the month's evidence must know about the capture, or None."""
        captured = utc_text(self.captured_at)
        if self.backfill:
            days = (self.captured_at - self.month_end).days
            return (f"backfill: judged against the inventory captured {captured}, {days} days after "
                    f"{self.month:%Y-%m} ended (no earlier capture after the month end); it shows the estate "
                    f"as it was then, and events after {self.month_end - timedelta(days=1):%Y-%m-%d} are not cited")
        if not self.after_month:
            return (f"judged against the latest inventory, captured {captured} before {self.month:%Y-%m} ended "
                    "(no capture after the month end yet)")
        return None


def select_capture(captures: list[Capture], month: date) -> Selection:
    """The capture nearest after `month` ends, else the latest (see the module docstring)."""
    if not captures:
        raise ValueError(f"{month:%Y-%m}: no inventory capture to judge the month against")
    end = month_end(month)
    later = [c for c in captures if c.captured_at >= end]
    chosen = min(later, key=lambda c: c.captured_at) if later else max(captures, key=lambda c: c.captured_at)
    return Selection(month, chosen, end)


def previous_capture(captures: list[Capture], capture: Capture) -> Capture | None:
    """The capture just before `capture` (what a drift report compares it with)."""
    earlier = [c for c in captures if c.captured_at < capture.captured_at]
    return max(earlier, key=lambda c: c.captured_at) if earlier else None


def utc_text(moment: datetime) -> str:
    """`2026-11-01T00:00:00Z`: how a capture time is written in evidence and reports."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# Evidence keys holding an event time from the inventory, and the day counts derived from them.
EVENT_KEYS = {"last_operation_time": ("days_since",), "created_on": ("age_days",), "last_job": ()}


def censor_after_month(evidence: dict, selection: Selection) -> dict:
    """The evidence with `snapshot_captured_at`, and without any event after the month end.

    An event time after the month (a last operation in October cited for August) is replaced by
    null and named in `not_cited_after_month_end`, with the day counts measured from it; the
    capture's note (`snapshot_note`) says why.
    """
    out = {**evidence, "snapshot_captured_at": utc_text(selection.captured_at)}
    hidden = []
    if selection.after_month:
        for key, derived in EVENT_KEYS.items():
            moment = _parse_time(out.get(key))
            if moment is not None and moment >= selection.month_end:
                hidden.append(key)
                out[key] = None
                for other in derived:
                    out.pop(other, None)
    if hidden:
        out["not_cited_after_month_end"] = sorted(hidden)
    note = selection.note()
    if note or hidden:
        out["snapshot_note"] = note or (f"events after {selection.month_end - timedelta(days=1):%Y-%m-%d} "
                                        f"(in the capture of {utc_text(selection.captured_at)}) are not cited")
    return out


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stamp_findings(findings: pl.DataFrame, selection: Selection) -> pl.DataFrame:
    """`censor_after_month` applied to every finding's evidence (a JSON text column)."""
    if findings.height == 0:
        return findings
    texts = [json.dumps(censor_after_month(json.loads(text) if text else {}, selection), sort_keys=True, default=str)
             for text in findings["evidence"]]
    return findings.with_columns(pl.Series("evidence", texts, dtype=pl.String))


# -- failures of a capture --------------------------------------------------------------------------


def failures_frame(failures, captured_at: datetime) -> pl.DataFrame:
    """`Inventory.failures` (`ListingFailure`s: scope = a workspace ARM id or a subscription scope)
    as rows of `inventory_failures`."""
    rows = []
    for failure in failures:
        scope = str(failure.scope)
        parts = scope.strip("/").split("/")
        lower = [p.lower() for p in parts]

        def after(segment: str, parts=parts, lower=lower) -> str | None:
            return parts[lower.index(segment) + 1] if segment in lower and lower.index(segment) + 1 < len(parts) else None

        rows.append({"captured_at": captured_at, "subscription": after("subscriptions"),
                     "workspace": after("workspaces"), "call": failure.call, "reason": failure.error})
    return pl.DataFrame(rows, schema=FAILURES_SCHEMA, orient="row") if rows else pl.DataFrame(schema=FAILURES_SCHEMA)


def read_failures(con, captured_at: datetime, names: frozenset[str] | None = None) -> pl.DataFrame:
    """The failed calls of the capture at `captured_at` from the warehouse's `inventory_failures`
    (empty when the table does not exist: an output folder from before it was recorded).
    `names`: the connection's `relation_names`, when the caller has read them."""
    from dagster_project.sql import load_sql, relation_names

    if "inventory_failures" not in (relation_names(con) if names is None else names):
        return pl.DataFrame(schema=FAILURES_SCHEMA)

    frame = con.sql(load_sql("intermediate/inventory_failures_of_capture"), params={"captured_at": captured_at}).pl()
    return frame.with_columns(pl.col("captured_at").dt.convert_time_zone("UTC")).cast(dict(FAILURES_SCHEMA))


def failed_workspaces(failures: pl.DataFrame) -> dict[tuple[str, str | None], str]:
    """(subscription, workspace) lowercased → what failed in it (`call: reason; ...`). A failure
    with no workspace (a subscription-level call) has workspace None: it covers every workspace of
    that subscription; one with neither covers every workspace."""
    out: dict[tuple[str, str | None], list[str]] = {}
    for row in failures.iter_rows(named=True):
        key = ((row["subscription"] or "").lower(), (row["workspace"] or "").lower() or None)
        out.setdefault(key, []).append(f"{row['call']}: {row['reason']}")
    return {key: "; ".join(reasons) for key, reasons in out.items()}


def failure_of(failed: dict[tuple[str, str | None], str], subscription: str, workspace: str) -> str | None:
    """What failed for the workspace in `failed` (its own calls, or its subscription's), or None."""
    subscription, workspace = (subscription or "").lower(), (workspace or "").lower()
    # A failure naming neither (the recorder, an unknown scope) could have hidden any workspace.
    keys = ((subscription, workspace or None), (subscription, None), ("", None))
    reasons = [failed[key] for key in keys if key in failed]
    return "; ".join(dict.fromkeys(reasons)) or None


# Failed calls that hide no Azure ML resource: they cannot make a finding disappear.
_HARMLESS_CALLS = ("resource_groups.", "subscriptions.")


def hiding_failures(failures: pl.DataFrame) -> pl.DataFrame:
    """The failures that can hide Azure ML resources (not the resource group / subscription tag
    lookups): these keep a workspace's findings open."""
    return failures.filter(~pl.any_horizontal(pl.col("call").str.starts_with(p) for p in _HARMLESS_CALLS))


# -- the inventory a month is judged against ------------------------------------------------------


@dataclass
class MonthInventory:
    """The inventory tables (by published name) of the capture that judges a month."""

    frames: dict[str, pl.DataFrame]
    selection: Selection
    failures: pl.DataFrame  # FAILURES_SCHEMA rows of that capture
    replayed: bool = False  # another capture than the staged / published inventory tables


@contextmanager
def judged_inventory(con, chosen: MonthInventory):
    """Within the block, SQL that reads the inventory tables by name (`inventory_computes`,
    `inventory_jobs`, ...: the job split, running hours, the capacity check) reads the capture that
    judges the month: a replayed capture's frames become this connection's temporary views of
    those names (as the staged inventory's are, `warehouse.refresh_views`), which are restored at
    the end. `Warehouse.stage_month` refreshes the views too: publish outside the block."""
    from dagster_project.warehouse import refresh_views

    names = list(chosen.frames) if chosen.replayed else []
    for name in names:
        con.register(f"_judged_{name}", chosen.frames[name])
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM _judged_{name}")  # noqa: S608 (fixed table names)
    try:
        yield chosen
    finally:
        if names:
            refresh_views(con)
            for name in names:
                con.unregister(f"_judged_{name}")


@lru_cache(maxsize=4)
def _replayed(path: str, stamp: int):
    from dagster_project.inventory.tables import load_inventory

    return load_inventory(Path(path))


def replay_capture(capture: Capture):
    """`load_inventory` of a capture, kept for the process (findings and attribution of one month
    read the same capture; a changed `snapshot.json` is read again)."""
    return _replayed(str(capture.path), (capture.path / SNAPSHOT_INFO_FILE).stat().st_mtime_ns)


def month_inventory(con, month: date, store: Path | None = None) -> MonthInventory:
    """The capture of `store` that judges `month` (`select_capture`), as inventory frames.

    The staged / published inventory is used when it is that capture (or when no store is given);
    another capture is replayed through azure-ai-ml. Its failed calls come from
    `inventory_failures` and, for a replayed capture, from the replay itself."""
    from dagster_project.attribution.allocate import MissingInventoryError, read_inventory_table
    from dagster_project.sql import relation_names
    from dagster_project.warehouse import INVENTORY_TABLES

    staged: dict[str, pl.DataFrame] | None
    names = relation_names(con)  # one catalog read for every table below (nothing here creates one)
    try:
        staged = {name: read_inventory_table(con, name, names) for name in INVENTORY_TABLES[:6]}
        staged.update({name: read_inventory_table(con, name, names) for name in INVENTORY_TABLES[6:]
                       if name in names})
    except MissingInventoryError:
        if store is None:
            raise
        staged = None
    if staged is not None:
        # DuckDB hands back its session zone (e.g. Etc/UTC); replayed frames are UTC.
        staged = {name: frame.with_columns(pl.col(c).dt.convert_time_zone("UTC") for c, dtype in frame.schema.items()
                                           if isinstance(dtype, pl.Datetime) and dtype.time_zone)
                  for name, frame in staged.items()}
    staged_at = _captured_at(staged["inventory_workspaces"]) if staged else None
    if store is None:
        moment = staged_at or datetime.now(UTC)
        selection = Selection(month, Capture(moment, Path()), month_end(month))
        return MonthInventory(staged, selection, read_failures(con, moment, names))
    selection = select_capture(list_captures(store), month)
    if staged is not None and staged_at == selection.captured_at:
        failures = read_failures(con, selection.captured_at, names)
        if "inventory_failures" not in names:
            # An inventory asset that records no failures table: the replay itself says what failed.
            failures = failures_frame(replay_capture(selection.capture).failures, selection.captured_at)
        return MonthInventory(staged, selection, failures)
    inventory = replay_capture(selection.capture)
    failures = pl.concat([read_failures(con, selection.captured_at, names),
                          failures_frame(inventory.failures, selection.captured_at)]).unique(maintain_order=True)
    return MonthInventory(inventory.tables(), selection, failures, replayed=True)


def _captured_at(workspaces: pl.DataFrame) -> datetime | None:
    if workspaces.height == 0 or workspaces["captured_at"].null_count() == workspaces.height:
        return None
    return workspaces["captured_at"].max().astimezone(UTC)


def store_root(inventory, out_dir: Path | str) -> Path | None:
    """The local folder of captures behind the inventory resource: its replayed `snapshot_dir`
    (a store of one; the `store_path` it was taken from, when given), or the snapshot store's local root (a Blob store's synced cache); None when
    neither is configured (the staged inventory alone judges every month)."""
    snapshot_dir = getattr(inventory, "snapshot_dir", None)
    if snapshot_dir:
        # A capture replayed from a local store (the CLI's --inventory STORE) is judged with its store.
        return Path(getattr(inventory, "store_path", None) or snapshot_dir)
    if getattr(inventory, "mode", None) == "store":
        store = inventory.open_store(Path(out_dir))
        try:
            return Path(store.local_root)
        finally:
            store.close()
    return None
