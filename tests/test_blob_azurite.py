"""The Blob Storage export source against Azurite, the Azure Storage emulator (issue 11).

The demo tenant's Cost Management exports are uploaded into an Azurite container in Azure's own
layout (``exports/<export>/<YYYYMMDD-YYYYMMDD>/<run-id>/manifest.json`` + ``part_*.csv``, blob
names from the container root) and read back through `BlobExportSource`, i.e. the real
``azure-storage-blob`` client speaking HTTP to a real Blob endpoint (shared-key signed listings and
authenticated downloads). Each month loaded from the container must equal the same month loaded
from the local folder, and both must equal an independent ``Decimal`` sum of the CSV files that
should win.

Azurite comes from npm (``bash scripts/ensure_azurite.sh`` installs the pinned version into
``.cache/azurite``; the fixture runs it when needed). Without Node/npm or the registry the tests
are skipped, except on CI (``CI=true``), where they fail. Azurite listens on 127.0.0.1 only, runs
with telemetry disabled, and the SDK is kept off any proxy: no traffic leaves the machine.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path, PurePosixPath

import duckdb
import pytest

from dagster_project.costs.discovery import Discovery, ExportRun, discover, parse_submitted_time
from dagster_project.costs.load import LoadResult, load_month
from dagster_project.costs.overlap import overlapping_exports

REPO = Path(__file__).resolve().parents[1]
ENSURE = REPO / "scripts" / "ensure_azurite.sh"
AZURITE_BLOB = REPO / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
HOW_TO_GET_IT = "install it with `bash scripts/ensure_azurite.sh` (needs Node.js, npm and the npm registry)"
READY_TIMEOUT = 30.0

# Azurite's well-known development account (published in Azurite's README; not a secret).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CREDENTIAL = {"account_name": ACCOUNT_NAME, "account_key": ACCOUNT_KEY}
ROOT_FOLDER = "exports"  # the demo exports' rootFolderPath: blob names start with it


def _unavailable(reason: str) -> None:
    """Skip locally; fail on CI, which must run these tests."""
    message = f"Azurite is not available: {reason}; {HOW_TO_GET_IT}"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Azurite:
    port: int

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"


@dataclass(frozen=True)
class _Started:
    process: subprocess.Popen
    port: int
    log: Path


@pytest.fixture(scope="module")
def azurite_process(tmp_path_factory) -> Iterator[_Started]:
    """azurite-blob started on 127.0.0.1 (a free port), installed first when missing; stopped after
    the module. Not waited for here: the demo is generated while Node starts (see `azurite`)."""
    if not os.access(AZURITE_BLOB, os.X_OK):
        if shutil.which("bash") is None:
            _unavailable("bash is needed to run scripts/ensure_azurite.sh")
        try:
            done = subprocess.run(["bash", str(ENSURE)], capture_output=True, text=True, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            _unavailable("scripts/ensure_azurite.sh did not finish within 10 minutes")
        if done.returncode != 0 or not os.access(AZURITE_BLOB, os.X_OK):
            last = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
            _unavailable(f"scripts/ensure_azurite.sh failed ({last})")
    workspace = tmp_path_factory.mktemp("azurite")
    log_path = workspace / "azurite.log"
    port = _free_port()
    try:
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(AZURITE_BLOB), "--blobHost", "127.0.0.1", "--blobPort", str(port),
                 "--location", str(workspace / "data"), "--silent", "--skipApiVersionCheck", "--loose",
                 "--disableTelemetry"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    except OSError as exc:
        _unavailable(f"azurite-blob cannot be started ({exc})")
    try:
        yield _Started(process, port, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def azurite(azurite_process, local) -> Iterator[Azurite]:
    """The Azurite Blob service, once its port answers (bounded wait); the SDK kept off proxies."""
    process, port = azurite_process.process, azurite_process.port
    deadline = time.monotonic() + READY_TIMEOUT
    while not _answers(port):
        if process.poll() is not None:
            tail = azurite_process.log.read_text(errors="replace").strip().splitlines()[-3:]
            _unavailable(f"azurite-blob exited with status {process.returncode} ({' | '.join(tail) or 'no output'})")
        if time.monotonic() > deadline:
            _unavailable(f"azurite-blob did not answer on 127.0.0.1:{port} within {READY_TIMEOUT:.0f} s")
        time.sleep(0.05)
    # Loopback only: never route the SDK's requests through a proxy from the environment.
    with pytest.MonkeyPatch.context() as env:
        no_proxy = ",".join(filter(None, ["127.0.0.1", "localhost", os.environ.get("NO_PROXY", "")]))
        env.setenv("NO_PROXY", no_proxy)
        env.setenv("no_proxy", no_proxy)
        yield Azurite(port)


# ------------------------------------------------------------------------------- the demo ----------
@dataclass
class Loaded:
    """One month as loaded from some root."""

    con: duckdb.DuckDBPyConnection
    found: Discovery
    runs: list[ExportRun]
    result: LoadResult

    def rows(self, strip: str = "") -> list[tuple]:
        """Every line item of the month, sorted; `strip` removed from the front of `source_file`."""
        rows = self.con.execute("SELECT * EXCLUDE (source_file), source_file FROM cost_line_items "
                                "WHERE billing_month = ? ORDER BY ALL", [self.result.month]).fetchall()
        if strip:
            assert all(r[-1].startswith(strip) for r in rows), "a source_file is not under the root given"
            rows = [(*r[:-1], r[-1][len(strip):]) for r in rows]
        return rows

    def totals(self) -> dict[str, tuple[int, Decimal, Decimal]]:
        """Per billing currency: line items, billed cost, effective cost (from the loaded rows)."""
        return {currency: (n, Decimal(billed), Decimal(effective)) for currency, n, billed, effective in
                self.con.execute("SELECT billing_currency, count(*), sum(billed_cost), sum(effective_cost) "
                                 "FROM cost_line_items WHERE billing_month = ? GROUP BY 1 ORDER BY 1",
                                 [self.result.month]).fetchall()}

    def rejects(self) -> int:
        return self.con.execute("SELECT count(*) FROM cost_rejects WHERE billing_month = ?",
                                [self.result.month]).fetchone()[0]


def _load(root, month: date, con: duckdb.DuckDBPyConnection | None = None, exclude: tuple[str, ...] = ()) -> Loaded:
    """`discover` + `load_month`, as the pipeline does (into `con`, a new in-memory one by default)."""
    con = con or duckdb.connect()
    found = discover(root, month, exclude=list(exclude))
    runs = found.runs_for(month)
    return Loaded(con, found, runs, load_month(con, runs, month))


@pytest.fixture(scope="module")
def local(demo_two_months) -> dict[date, Loaded]:
    """Every month of the demo loaded from the local export folder: what the Blob loads must equal."""
    con = duckdb.connect()
    months = discover(demo_two_months.exports).months()
    assert len(months) == 2
    return {month: _load(demo_two_months.exports, month, con) for month in months}


def _container_blobs(exports: Path) -> dict[str, bytes]:
    """Every file of a local export root, named as Azure names it in the container."""
    return {f"{ROOT_FOLDER}/{p.relative_to(exports).as_posix()}": p.read_bytes()
            for p in sorted(exports.rglob("*")) if p.is_file()}


def _container(azurite: Azurite, blobs: dict[str, bytes]):
    """A new container holding `blobs` (name -> content), uploaded through the SDK."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(azurite.account_url, credential=CREDENTIAL)
    container = service.create_container(f"costs-{uuid.uuid4().hex[:12]}")
    for name, content in blobs.items():
        container.upload_blob(name, content)
    return container


def _source(azurite: Azurite, container, root_path: str):
    from dagster_project.costs.sources import BlobExportSource

    return BlobExportSource(azurite.account_url, container.container_name, root_path, credential=CREDENTIAL)


def _independent_totals(uploaded: dict[str, bytes], month: date, exclude: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    """Per currency totals of the uploaded CSV files that should win, summed as `Decimal`.

    Worked out without the product code from what was put in the container (blob name ->
    content): per export folder, the manifest of `month` with the latest
    ``runInfo.submittedTime`` whose blobs were all uploaded wins; its CSVs are parsed with `csv`.
    Returns the totals (currency -> line items, billed, effective) and the winning manifests.
    """
    best: dict[str, tuple] = {}
    for name in sorted(uploaded):
        parts = PurePosixPath(name).parts  # exports/<export>/<range>/<run>/manifest.json
        if parts[-1] != "manifest.json" or not parts[2].startswith(f"{month:%Y%m%d}-") or parts[1] in exclude:
            continue
        manifest = json.loads(uploaded[name])
        blobs = [b["blobName"] for b in manifest["blobs"]]
        if not all(b in uploaded for b in blobs):
            continue  # still being delivered
        submitted = parse_submitted_time(manifest["runInfo"]["submittedTime"])
        if parts[1] not in best or submitted > best[parts[1]][0]:
            best[parts[1]] = (submitted, name, blobs)
    totals: dict[str, list] = {}
    for _submitted, _manifest, blobs in best.values():
        for blob in blobs:
            for row in csv.DictReader(io.StringIO(uploaded[blob].decode("utf-8-sig"), newline="")):
                entry = totals.setdefault(row["BillingCurrency"], [0, Decimal(0), Decimal(0)])
                entry[0] += 1
                entry[1] += Decimal(row["BilledCost"])
                entry[2] += Decimal(row["EffectiveCost"])
    return {k: tuple(v) for k, v in sorted(totals.items())}, sorted(v[1] for v in best.values())


# ----------------------------------------------------------------------------------- tests ----------
def test_blob_container_loads_like_the_local_folder(azurite, demo_two_months, local):
    uploaded = _container_blobs(demo_two_months.exports)
    container = _container(azurite, uploaded)
    loaded: set[str] = set()
    superseded: set[str] = set()
    with _source(azurite, container, ROOT_FOLDER) as at_root, _source(azurite, container, "") as at_container:
        blob_con, copy_con = duckdb.connect(), duckdb.connect()
        for month, want in local.items():
            got = _load(at_root, month, blob_con)
            # The same runs win, the same month-to-date runs are superseded, nothing is skipped.
            assert [(r.export_name, r.run_id) for r in got.runs] == [(r.export_name, r.run_id) for r in want.runs]
            assert sorted(r.run_id for r in got.found.superseded) == sorted(r.run_id for r in want.found.superseded)
            assert got.found.warnings(month) == [] == want.found.warnings(month)
            # Identical line items, source_file included (both relative to the export root).
            assert got.result.source_files == want.result.source_files
            assert got.rows() == want.rows()
            assert got.totals() == want.totals() and got.result.totals == want.result.totals
            assert got.result.rows_rejected == 0 == got.rejects()
            # An independent Decimal sum of the uploaded CSVs that should win.
            independent, manifests = _independent_totals(uploaded, month)
            assert manifests == sorted(f"{ROOT_FOLDER}/{r.manifest_relative}" for r in got.runs)
            assert got.totals() == independent
            # The container copy level (root_path ""): the same rows, source_file then under "exports/".
            if month == min(local):  # one month is enough (the one with superseded runs)
                whole = _load(at_container, month, copy_con)
                assert [r.run_id for r in whole.runs] == [r.run_id for r in want.runs]
                assert whole.totals() == want.totals() == independent
                assert whole.rows(strip=f"{ROOT_FOLDER}/") == want.rows()
            loaded |= {b.relative for r in got.runs for b in r.blobs}
            superseded |= {b.relative for r in got.found.superseded for b in r.blobs}
        # Only the winning runs were downloaded: the superseded month-to-date runs never were.
        cached = {p.relative_to(at_root.cache_dir).as_posix() for p in at_root.cache_dir.rglob("*") if p.is_file()}
        assert superseded and cached == loaded and not cached & superseded


def _copied_export(blobs: dict[str, bytes], export: str, folder: str, rename: bool) -> dict[str, bytes]:
    """`export` copied under `folder`, manifests' blob names pointing there (and exportName if `rename`)."""
    old, new = f"{ROOT_FOLDER}/{export}/", f"{ROOT_FOLDER}/{folder}/"
    copied = {}
    for name, content in blobs.items():
        if not name.startswith(old):
            continue
        if name.endswith("manifest.json"):
            manifest = json.loads(content)
            for blob in manifest["blobs"]:
                assert blob["blobName"].startswith(old)
                blob["blobName"] = new + blob["blobName"][len(old):]
            if rename:
                manifest["exportConfig"]["exportName"] = folder
            content = json.dumps(manifest, indent=2).encode()
        copied[new + name[len(old):]] = content
    return copied


@pytest.mark.parametrize(("root_path", "rename"), [(ROOT_FOLDER, True), ("", False)],
                         ids=["export-root-second-export", "container-root-copied-folder"])
def test_overlapping_export_is_named_then_excluded(azurite, demo_two_months, local, root_path, rename):
    """A copy of one export under `exports/manual-rerun/`: either a second export definition
    (its own exportName) or a plain copy of the folder (the manifests still name the original)."""
    blobs = _container_blobs(demo_two_months.exports)
    export = "aml-finops-focus-contoso-ml-prod"
    others = sorted({PurePosixPath(n).parts[1] for n in blobs} - {export})
    assert others, "the demo has a single export"
    uploaded = {**blobs, **_copied_export(blobs, export, "manual-rerun", rename)}
    container = _container(azurite, uploaded)
    month = min(local)  # the month with a superseded month-to-date run
    with _source(azurite, container, root_path) as source:
        got = _load(source, month)
        assert sorted(r.export_key.rsplit("/", 1)[-1] for r in got.runs) == sorted([export, "manual-rerun", *others])
        overlaps = overlapping_exports(got.con, month, got.runs)
        assert overlaps, "the copied export is not reported"
        for overlap in overlaps:
            copy_names = [e for e in overlap.exports if "manual-rerun" in e]
            original = [e for e in overlap.exports if "manual-rerun" not in e]
            assert len(copy_names) == 1 and len(original) == 1 and export in original[0], overlap.exports
            assert "manual-rerun" in overlap.message() and export in overlap.message()
        copied_accounts = {a for (a,) in got.con.execute(
            "SELECT DISTINCT sub_account_id FROM cost_line_items WHERE billing_month = ? "
            "AND source_file LIKE '%manual-rerun/%'", [month]).fetchall()}
        assert {o.sub_account_id for o in overlaps} == copied_accounts  # the copied subscription only
        # Excluding the copy gives the local folder's month again.
        kept = _load(source, month, exclude=("manual-rerun",))
        assert sorted(r.run_id for r in kept.runs) == sorted(r.run_id for r in local[month].runs)
        assert overlapping_exports(kept.con, month, kept.runs) == []
        assert kept.totals() == local[month].totals() == _independent_totals(uploaded, month, ("manual-rerun",))[0]


def _in_progress_run(blobs: dict[str, bytes], month: date, export: str) -> tuple[dict[str, bytes], str, str]:
    """A newer run of `export` for `month` (a day after its latest) whose manifest lists a blob that
    is not uploaded. Returns the blobs to upload (the manifest and a first part with doubled
    amounts, so loading it would show), the new run id and the missing blob's name."""
    prefix = f"{ROOT_FOLDER}/{export}/{month:%Y%m%d}-"
    manifests = {n: json.loads(c) for n, c in blobs.items() if n.startswith(prefix) and n.endswith("/manifest.json")}
    name, latest = max(manifests.items(), key=lambda kv: parse_submitted_time(kv[1]["runInfo"]["submittedTime"]))
    run_id = str(uuid.uuid4())
    folder = f"{ROOT_FOLDER}/{export}/{PurePosixPath(name).parts[2]}/{run_id}"
    manifest = copy.deepcopy(latest)
    submitted = parse_submitted_time(latest["runInfo"]["submittedTime"]) + timedelta(days=1)
    manifest["runInfo"].update(runId=run_id, submittedTime=submitted.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"))
    first = latest["blobs"][0]
    reader = csv.DictReader(io.StringIO(blobs[first["blobName"]].decode("utf-8-sig"), newline=""))
    doubled = io.StringIO(newline="")
    writer = csv.DictWriter(doubled, reader.fieldnames, lineterminator="\r\n")
    writer.writeheader()
    for row in reader:
        row["BilledCost"] = str(Decimal(row["BilledCost"]) * 2)
        row["EffectiveCost"] = str(Decimal(row["EffectiveCost"]) * 2)
        writer.writerow(row)
    present, missing = f"{folder}/part_0_0001.csv", f"{folder}/part_0_0002.csv"
    manifest["blobs"] = [{**first, "blobName": present}, {"blobName": missing, "byteCount": 1024, "dataRowCount": 1}]
    manifest["blobCount"] = 2
    uploaded = {present: doubled.getvalue().encode(), f"{folder}/manifest.json": json.dumps(manifest).encode()}
    return uploaded, run_id, missing


def test_run_still_being_delivered_is_skipped_with_a_warning(azurite, demo_two_months, local):
    blobs = _container_blobs(demo_two_months.exports)
    export = "aml-finops-focus-contoso-ml-research"
    extra: dict[str, bytes] = {}
    pending: dict[date, tuple[str, str]] = {}
    for month in local:
        uploaded, run_id, missing = _in_progress_run(blobs, month, export)
        extra.update(uploaded)
        pending[month] = (run_id, missing)
    uploaded = {**blobs, **extra}
    container = _container(azurite, uploaded)
    # Both months, both root levels: the first month (superseded + in-progress runs) from the
    # export root, the second (one complete run + the in-progress one) from the container root.
    first, second = sorted(local)
    cases = [(ROOT_FOLDER, first), ("", second)]
    for root_path, month in cases:
        run_id, missing = pending[month]
        with _source(azurite, container, root_path) as source:
            got = _load(source, month)
        warnings = got.found.warnings(month)
        assert len(warnings) == 1 and run_id in warnings[0] and missing in warnings[0], warnings
        assert "still being delivered" in warnings[0] and "previous complete run counts" in warnings[0]
        assert run_id not in {r.run_id for r in got.runs} | {r.run_id for r in got.found.superseded}
        # The previous complete run (the local folder's winner) counts, and only it.
        assert sorted(r.run_id for r in got.runs) == sorted(r.run_id for r in local[month].runs)
        assert not any(run_id in f for f in got.result.source_files)
        assert got.totals() == local[month].totals() == _independent_totals(uploaded, month)[0]
