"""`aml-finops diff`: the drift between two inventory snapshots.

    aml-finops diff SNAPSHOT_A SNAPSHOT_B [--format table|json|csv] [--config FILE]
                    [--allow-partial-inventory]

Both snapshots are replayed through azure-ai-ml and compared (`inventory.changes`): computes,
endpoints, deployments and asset versions added, removed or changed, each with before and after.
`table` (default) is for people, `json` (a list of objects) and `csv` for tools; the owner tag
keys come from `--config`.

Exit status: 0; 1 when a snapshot has failed calls (each printed on stderr, naming the workspace
and the call; their workspaces are not reported as added or removed) unless
`--allow-partial-inventory`; 2 for a usage error (a missing folder, a folder that is not one
snapshot), in one line.

`add_diff_parser(subparsers)` is wired into `dagster_project.cli`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text


def add_diff_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "diff", help="what changed in the Azure ML estate between two inventory snapshots",
        description="Replay two inventory snapshots and list computes, endpoints, deployments and asset versions "
                    "added, removed or changed (VM size, node counts, idle shutdown, schedules, traffic, tags, "
                    "owner), each with before and after.")
    parser.add_argument("snapshot_a", metavar="SNAPSHOT_A", help="the earlier snapshot folder")
    parser.add_argument("snapshot_b", metavar="SNAPSHOT_B", help="the later snapshot folder")
    parser.add_argument("--format", choices=["table", "json", "csv"], default="table",
                        help="output format (default: table)")
    parser.add_argument("--config", default=None, help="finops.yaml (its owner tag keys; default: built-in)")
    parser.add_argument("--allow-partial-inventory", action="store_true",
                        help="exit 0 even when a snapshot has failed calls (they are still printed)")
    return parser


def _snapshot(path: str, label: str) -> Path:
    from dagster_project.cli import UsageError
    from dagster_project.inventory.history import list_captures

    folder = Path(path)
    if not folder.is_dir():
        raise UsageError(f"{label} folder not found: {folder}")
    try:
        captures = list_captures(folder)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if len(captures) != 1 or captures[0].path != folder:
        raise UsageError(f"{folder}: a store of {len(captures)} captures; name one capture folder as {label}")
    return folder


def cmd_diff(args: argparse.Namespace) -> int:
    from dagster_project.cli import UsageError
    from dagster_project.config import load_config
    from dagster_project.inventory.changes import changes_between

    first, second = _snapshot(args.snapshot_a, "SNAPSHOT_A"), _snapshot(args.snapshot_b, "SNAPSHOT_B")
    if args.config and not Path(args.config).is_file():
        raise UsageError(f"configuration file not found: {args.config}")
    config = load_config(Path(args.config) if args.config else None)
    changes, failures = changes_between(first, second, config.tags.owner)
    frame = changes.frame
    if args.format == "json":
        rows = [{k: (v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v) for k, v in row.items()}
                for row in frame.iter_rows(named=True)]
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    elif args.format == "csv":
        sys.stdout.write(frame.with_columns(
            frame[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ") for c in ("captured_before", "captured_after")).write_csv())
    else:
        _print_table(frame, first, second)
    for failure in failures:
        print(f"aml-finops diff: warning: {failure} (its workspace is not compared for added/removed)",
              file=sys.stderr)
    return 1 if failures and not args.allow_partial_inventory else 0


def _print_table(frame, first: Path, second: Path) -> None:
    from dagster_project.inventory.snapshot_paths import read_snapshot_info

    # Piped into a file or a pager, a table is not cut to 80 columns.
    out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 240)
    before, after = read_snapshot_info(first).captured_at, read_snapshot_info(second).captured_at
    title = (f"{frame.height} change{'s' if frame.height != 1 else ''} from {first} ({before:%Y-%m-%d %H:%M}Z) "
             f"to {second} ({after:%Y-%m-%d %H:%M}Z)")
    if frame.height == 0:
        out.print(title, markup=False)
        return
    table = Table(title=title)
    for column in ("kind", "workspace", "resource", "change", "field", "before", "after"):
        table.add_column(column, overflow="fold")
    for row in frame.iter_rows(named=True):
        # Text, not markup: names and tag values come from the tenant.
        table.add_row(*(Text(str(value)) if value is not None else Text("") for value in (
            row["resource_kind"], row["workspace"], row["resource_name"], row["change"], row["field"],
            row["before"], row["after"])))
    out.print(table)
