"""`aml-finops snapshot`: record the Azure ML inventory of live scopes into a snapshot folder.

    aml-finops snapshot --subscription S [--subscription S2 ...] [--resource-group RG]
                        [--workspace W ...] --out DIR [--max-workers N] [--no-run-history]
                        [--cloud AzureCloud]

Authentication is `azure.identity.DefaultAzureCredential` (environment, workload or managed
identity, Azure CLI, ...); the credential is never written anywhere. Progress (one line per scope
and per workspace, every failed call) goes to stderr through `rich`; the summary to stdout.

Exit status: 0 when everything was recorded; 1 when the snapshot was written but some calls
failed (each is listed, naming the workspace and the call), or nothing could be recorded
(no credential, a folder that already exists, no workspace found); 2 for a usage error.

`cmd_snapshot(args)` and `add_snapshot_parser(subparsers)` are wired into `dagster_project.cli`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from rich.console import Console

_out = Console(stderr=False, highlight=False)
_err = Console(stderr=True, highlight=False)


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be between 1 and 64: {text!r}")
    return value


def add_snapshot_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `snapshot` command to the `aml-finops` sub-parsers; returns its parser."""
    parser = subparsers.add_parser(
        "snapshot",
        help="record the Azure ML inventory of live subscriptions into a snapshot folder",
        description="List workspaces, computes, asset versions, endpoints, deployments, jobs, resource groups "
                    "and subscriptions with azure-ai-ml / azure-mgmt-resource, recording every response body "
                    "(secrets redacted) into DIR in the aml-finops-snapshot/1 format. Uses "
                    "DefaultAzureCredential; reads only.",
    )
    parser.add_argument("--subscription", action="append", required=True, metavar="S",
                        help="subscription id or ARM scope (/subscriptions/<id>[/resourceGroups/<rg>]); repeatable")
    parser.add_argument("--resource-group", default=None, metavar="RG",
                        help="only this resource group of the given subscription ids")
    parser.add_argument("--workspace", action="append", default=None, metavar="W",
                        help="only this workspace (name, case-insensitive); repeatable")
    parser.add_argument("--out", required=True, metavar="DIR", help="snapshot folder to create (must not exist or be empty)")
    parser.add_argument("--max-workers", type=_workers, default=8, metavar="N",
                        help="concurrent calls (default: 8)")
    parser.add_argument("--no-run-history", action="store_true",
                        help="skip the per-job run-history call (job start/end times stay empty)")
    parser.add_argument("--cloud", default="AzureCloud", help="Azure cloud name (default: AzureCloud)")
    parser.set_defaults(func=cmd_snapshot)
    return parser


def _error(message: str) -> None:
    print(f"aml-finops snapshot: error: {message}", file=sys.stderr)


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Record the snapshot described by `args` (see `add_snapshot_parser`)."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import CredentialUnavailableError, DefaultAzureCredential
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from dagster_project.inventory.record import record_snapshot

    out = Path(args.out)
    # azure-identity logs a multi-line WARNING per failed credential chain; the one-line error
    # below says the same.
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
    credential = DefaultAzureCredential()
    started = time.perf_counter()
    try:
        # Fail fast, in one line, when no credential is available at all (before any listing).
        credential.get_token("https://management.azure.com/.default")
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=_err, transient=True) as progress:
            task = progress.add_task("listing", total=None)

            def say(message: str) -> None:
                progress.update(task, description=message[:120])
                if message.startswith("FAILED"):
                    progress.console.print(f"[red]{message}[/red]", markup=True, highlight=False, soft_wrap=True)
                else:
                    progress.console.print(message, markup=False, highlight=False, soft_wrap=True)

            inventory = record_snapshot(
                credential, args.subscription, out, resource_group=args.resource_group,
                workspace_names=args.workspace, progress=say, include_run_history=not args.no_run_history,
                max_workers=args.max_workers, cloud=args.cloud,
            )
    except (CredentialUnavailableError, ClientAuthenticationError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _error(f"no usable Azure credential ({type(exc).__name__}: {first_line}); "
               "sign in with `az login` or set AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET")
        return 1
    except (FileExistsError, LookupError, ValueError) as exc:
        _error(str(exc))
        return 1
    finally:
        credential.close()
    elapsed = time.perf_counter() - started

    counts = ", ".join(f"{frame.height} {name.removeprefix('inventory_').replace('_', ' ')}"
                       for name, frame in inventory.tables().items())
    files = sum(1 for _ in out.rglob("*.json"))
    _out.print(f"Snapshot {out}: {files} files, captured at {inventory.captured_at:%Y-%m-%dT%H:%M:%SZ}, "
               f"in {elapsed:.1f} s", markup=False, highlight=False)
    _out.print(counts, markup=False, highlight=False)
    if inventory.failures:
        _out.print(f"{len(inventory.failures)} call(s) failed (the snapshot holds everything else):",
                   markup=False, highlight=False)
        for failure in inventory.failures:
            _out.print(f"  {failure}", markup=False, highlight=False, soft_wrap=True)
        return 1
    return 0
