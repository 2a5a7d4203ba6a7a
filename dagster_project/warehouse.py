"""The published DuckDB file and its Parquet mirror: one writer at a time, one month at a time.

**Publication protocol.** A month is built in the `staging` schema of the same DuckDB file and
published in one transaction, so a reader sees the month before or after, never a mix:

1. Each asset of a month *stages* its output: it replaces its month in `staging.<table>` and
   marks the part in `staging.staged_parts` (`stage_month`); the inventory stages whole tables
   (`stage_inventory`); the packs are written into a registered folder under `<out>/.publish/`.
2. In every writer connection, temporary views named like the public tables show the world as it
   will be once the staged parts are published (published rows of other months, staged rows of
   staged months). Assets read through these names, so attribution reads the staged line items,
   the packs read the staged spend, and previous months come from what is published.
3. `publish` moves every staged part of a month (and a staged inventory) into the public tables,
   refreshes the next month's previous-month columns, writes the Parquet of every touched month
   and records a journal of folder swaps — all inside one DuckDB transaction. After the commit
   the journal is applied (staged folders renamed into place) and cleared.
4. Any writer connection first applies a journal left by a killed process (roll forward) and
   removes staged folders no journal or staged part refers to (roll back). A failure before the
   commit therefore leaves the previous month exactly as it was; a kill after it completes the
   month on the next run.

Only one process may write a DuckDB file, so every connection takes an exclusive lock file next
to it (`finops.duckdb.lock`, through `filelock`, which works on Windows too); a Dagster backfill
running months in parallel processes queues on it. Readers take it too (they used to share a
POSIX `flock`; filelock has no portable shared mode outside its SQLite-based lock), so readers
queue behind each other for the short time a read takes.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import polars as pl
from filelock import FileLock

from dagster_project import month_tables
from dagster_project.catalog import INVENTORY_TABLES, MONTHLY_TABLES, TABLES, VIEWS
from dagster_project.month_tables import PER_MONTH_TABLES
from dagster_project.sql import create_macros, load_sql

STAGING = "staging"
# Only catalogued table names are ever formatted into SQL text, and only after `_checked`.
REPORTS_PART = "reports"  # the staged part that is a folder (the month's packs), not a table

PARQUET_COMPRESSION = "zstd"

# The writer connection of a `Warehouse.session` of this process, per database file.
_SESSIONS: dict[Path, duckdb.DuckDBPyConnection] = {}


class PublicationError(RuntimeError):
    """Publishing a month failed before its commit; the published month is unchanged."""


class WarehouseLayoutError(ValueError):
    """The DuckDB file holds a table whose columns are not this version's (another version of
    aml-finops prepared it); nothing in the file was changed."""


def swap_directory(staging: Path, final: Path) -> Path:
    """Put a fully written folder in place of `final` with renames, so readers never see a half."""
    old = None
    if final.exists():
        old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _identifier(name: str) -> str:
    if not name.replace("_", "a").isalnum():
        raise ValueError(f"bad relation name {name!r}")
    return name


def _checked(table: str) -> str:
    if table not in MONTHLY_TABLES and table not in INVENTORY_TABLES:
        raise ValueError(f"not a published table: {table!r}")
    return table


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def catalog(con: duckdb.DuckDBPyConnection) -> str:
    """The quoted name of the DuckDB file's catalog (temporary views shadow bare `main.` names)."""
    return _quoted(con.execute("SELECT current_database()").fetchall()[0][0])


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT; on any error ROLLBACK, re-raising the original error.

    A failed ROLLBACK (DuckDB already aborted the transaction, e.g. on a full disk) must not hide
    the error that caused it, so its own error is dropped.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = $schema AND table_name = $name", {"schema": schema, "name": table},
    ).fetchall()[0][0] > 0


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {qualified}").fetchall()]


def _create_tables(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Create every monthly table from the catalog with `schema` as the default schema (the public
    and the staging copy). Inventory tables are created whole from their frames on publication;
    per-month tables by `month_tables.create`."""
    db = catalog(con)
    con.execute(f"USE {db}.{_quoted(schema)}")
    try:
        for table in MONTHLY_TABLES:
            if table not in PER_MONTH_TABLES:
                con.execute(TABLES[table].create_sql())
    finally:
        con.execute(f"USE {db}.main")


@cache
def _ddl_version() -> str:
    """A hash of every DDL statement `prepare` runs: the file is prepared once per version."""
    import hashlib

    statements = [TABLES[table].create_sql() for table in MONTHLY_TABLES]
    statements += [f"per month: {table}" for table in PER_MONTH_TABLES]
    statements += [view_sql(view) for view in VIEWS]
    statements += [load_sql(f"publication/{name}") for name in ("create_staged_parts", "create_publication_journal")]
    return hashlib.sha256("\n".join(statements).encode()).hexdigest()


def _prepared(con: duckdb.DuckDBPyConnection) -> bool:
    if not _table_exists(con, STAGING, "ddl_version"):
        return False
    rows = con.execute(f"SELECT version FROM {catalog(con)}.{STAGING}.ddl_version").fetchall()  # noqa: S608
    return rows == [(_ddl_version(),)]


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Create the public tables and views, the staging schema, and the build views of this
    connection (see the module docstring). Safe to call more than once; refreshes the views.

    The DDL runs once per file and version of the statements (recorded in `staging.ddl_version`),
    not on each of the dozens of writer connections a run opens. A file another version prepared
    is first held to this version's layout (`layout_difference`): `CREATE TABLE IF NOT EXISTS`
    keeps an older table as it is, and a row written into it by name would lose the columns it
    lacks. Such a file is refused, unchanged (`WarehouseLayoutError`)."""
    if not _prepared(con):
        difference = layout_difference(con)
        if difference is not None:
            raise WarehouseLayoutError(
                f"{_database_path(con)}: prepared by another version of aml-finops, whose tables differ from "
                f"this version's ({difference}); nothing was changed. Write to a new folder (--out), or move "
                "this one aside to rebuild it from the exports")
        _create_layout(con)
    create_macros(con)  # month_project_spend and its refresh use them
    refresh_views(con)


def _create_layout(con: duckdb.DuckDBPyConnection) -> None:
    """This version's tables, views and bookkeeping (idempotent), and its `ddl_version`."""
    db = catalog(con)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {db}.{STAGING}")
    _create_tables(con, "main")
    _create_tables(con, STAGING)
    for table in PER_MONTH_TABLES:
        month_tables.create(con, table)
    for view in VIEWS:
        con.execute(view_sql(view))
    for statement in ("create_staged_parts", "create_publication_journal"):
        con.execute(load_sql(f"publication/{statement}"))
    con.execute(f"CREATE OR REPLACE TABLE {db}.{STAGING}.ddl_version AS SELECT $version AS version",  # noqa: S608
                {"version": _ddl_version()})


def _database_path(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]


def _table_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) → its [(column, type)] in order, for every base table of the file."""
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(load_sql("schema/table_columns")).fetchall():
        tables.setdefault((schema, table), []).append((column, data_type))
    return tables


@cache
def _layout() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """The base tables this version prepares and their columns: the DDL run on an empty in-memory
    database, so the layout has one home (the DDL itself)."""
    with duckdb.connect() as scratch:
        _create_layout(scratch)
        return _table_columns(scratch)


def layout_difference(con: duckdb.DuckDBPyConnection) -> str | None:
    """The first table of the file whose columns (names, order, types) are not those this version
    gives it, as `schema.table: …`; None when every table it knows matches. A table this version
    does not have yet is no difference (prepare creates it), nor is a table it does not know (an
    inventory table, which each run replaces whole, or the user's own). A per-month table's month
    tables and an older file's plain table of that name are held to its template."""
    tables = _table_columns(con)
    if not tables:  # a new file
        return None
    layout = _layout()
    templates = {table: layout[(month_tables.SCHEMA, month_tables.template_name(table))] for table in PER_MONTH_TABLES}
    for (schema, table), columns in sorted(tables.items()):
        expected = layout.get((schema, table))
        if expected is None and schema == month_tables.SCHEMA:
            expected = templates.get(table.split("__", 1)[0])
        if expected is None and schema in ("main", STAGING) and table in PER_MONTH_TABLES:
            expected = templates[table]  # a plain table from before per-month storage (month_tables._migrate)
        if expected is not None and columns != expected:
            return f"{schema}.{table}: {_column_difference(columns, expected)}"
    return None


def _column_difference(found: list[tuple[str, str]], expected: list[tuple[str, str]]) -> str:
    def listed(names: list[str]) -> str:
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    found_types, expected_types = dict(found), dict(expected)
    missing = [name for name, _ in expected if name not in found_types]
    extra = [name for name, _ in found if name not in expected_types]
    retyped = [f"{name} {found_types[name]} (now {kind})" for name, kind in expected
               if name in found_types and found_types[name] != kind]
    parts = ([f"lacks {listed(missing)}"] if missing else []) + ([f"has {listed(extra)}, no longer kept"] if extra else [])
    parts += [f"types {listed(retyped)}"] if retyped else []
    return "; ".join(parts) or "its columns are in another order"


def refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create this connection's temporary views over published ∪ staged rows.

    The build views of the monthly tables and the temporary public views read `staged_parts` and
    the public names when they are queried, so their text never changes for a connection: they are
    created when missing only (a run refreshed them ~8 times, 35 -> 12 ms a call). The inventory
    views follow what is staged now and are always redone (`judged_inventory` relies on that to
    restore them). `spend_by_dimension.sql`'s two views are `CREATE OR REPLACE VIEW` of the file,
    not temporary ones (the replace below does not match them), and are rewritten as before."""
    db = catalog(con)
    existing = {row[0] for row in con.execute(load_sql("schema/temporary_view_names")).fetchall()}
    for table in MONTHLY_TABLES:
        if table in existing:
            continue
        # Both sides share the DDL, so their columns match by name.
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {table} AS "  # noqa: S608 (identifiers from fixed lists)
            f"SELECT * FROM {db}.main.{table} WHERE billing_month NOT IN ("
            f"SELECT billing_month FROM {db}.{STAGING}.staged_parts "
            f"WHERE table_name = '{table}' AND billing_month IS NOT NULL) "
            f"UNION ALL BY NAME SELECT * FROM {db}.{STAGING}.{table}")
    staged = {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = $schema", {"schema": STAGING}).fetchall()}
    for table in INVENTORY_TABLES:
        if table in staged:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {db}.{STAGING}.{table}")  # noqa: S608
        else:
            con.execute(f"DROP VIEW IF EXISTS temp.main.{table}")
    # The published views read the public names, so they follow the build views too.
    for view in VIEWS:
        if view in existing:
            continue
        con.execute(view_sql(view).replace("CREATE VIEW IF NOT EXISTS", "CREATE OR REPLACE TEMP VIEW"))


def view_sql(view: str) -> str:
    """A public view's statement (`sql/schema/spend_by_dimension.sql`) with its name, dimension and
    explicit line written in: a view binds no parameters, and these are our own constants."""
    from dagster_project.attribution.methods import EXPLICIT_NONE

    dimension = VIEWS[view]
    if dimension is None:
        return load_sql(f"schema/{_identifier(view)}")
    none = "'" + EXPLICIT_NONE[dimension].replace("'", "''") + "'"
    return (load_sql("schema/spend_by_dimension").replace("{{view}}", _identifier(view))
            .replace("{{dimension}}", _identifier(dimension)).replace("{{none}}", none))


@dataclass
class Publication:
    """What `publish` made visible: rows per table of the month, and the months it touched."""

    month: date | None
    tables: dict[str, int] = field(default_factory=dict)
    inventory: dict[str, int] = field(default_factory=dict)
    reports: bool = False
    refreshed_months: list[date] = field(default_factory=list)


# DuckDB's memory cap for a run's connections (the load included): statements beyond it spill to
# disk instead of growing the process. 900 MB keeps a whole run at 10M and 30M line items under
# 1.5 GiB of RSS with the ~320 MiB the process needs besides (1 GB peaked at 1,494 and 1,546 MiB);
# the run time moved within its run-to-run noise (docs/performance.md, fourth session).
DUCKDB_MEMORY_LIMIT = "900MB"


@dataclass(frozen=True)
class Warehouse:
    """Where outputs go: `<out>/finops.duckdb` and `<out>/parquet/<table>/…`."""

    out_dir: Path
    memory_limit: str = DUCKDB_MEMORY_LIMIT
    threads: int | None = None

    @property
    def database_path(self) -> Path:
        return self.out_dir / "finops.duckdb"

    @property
    def parquet_root(self) -> Path:
        return self.out_dir / "parquet"

    @property
    def publish_root(self) -> Path:
        """Staged folders (Parquet, packs) wait here, on the same file system as their targets."""
        return self.out_dir / ".publish"

    @contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Keep one writer connection open for the block: every `connect` of this file in this
        process reuses it (a run's assets, checks and publication, one after the other).

        Opening, preparing and closing a connection costs ~0.1 s of CPU, and a three-month run
        opened about 40; one connection also keeps DuckDB's buffers warm between the steps. The
        lock is held for the whole block, so no other process writes meanwhile."""
        key = self.database_path.resolve()
        if key in _SESSIONS:
            yield _SESSIONS[key]
            return
        with self.connect() as con:
            _SESSIONS[key] = con
            try:
                yield con
            finally:
                del _SESSIONS[key]

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the DuckDB file; writers hold an exclusive lock for its lifetime and
        see the build views; a writer first completes or discards an interrupted publication.

        Inside a `session` of this file the session's writer connection is handed out instead
        (and stays open afterwards); a read-only caller then reads through it, build views
        included (DuckDB opens a file once per process, in one mode)."""
        shared = _SESSIONS.get(self.database_path.resolve())
        if shared is not None:
            yield shared
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # filelock: portable (fcntl does not exist on Windows). Exclusive for readers too: a
        # reader must not open the file while a writer replaces it, and reads are short.
        lock_path = self.database_path.with_suffix(".duckdb.lock")
        with FileLock(lock_path):
            if read_only and not self.database_path.exists():
                raise FileNotFoundError(f"{self.database_path}: no outputs yet; run the pipeline first")
            config = {"memory_limit": self.memory_limit, "preserve_insertion_order": "false"}
            if self.threads:
                config["threads"] = str(self.threads)
            config["temp_directory"] = str(self.out_dir / ".duckdb_tmp")
            con = duckdb.connect(str(self.database_path), read_only=read_only, config=config)
            try:
                if not read_only:
                    prepare(con)
                    self.recover(con)
                yield con
            finally:
                con.close()

    # -- staging -------------------------------------------------------------------------------

    def clear_month(self, con: duckdb.DuckDBPyConnection, month: date) -> None:
        """Forget everything staged for `month` (a new build of it starts)."""
        folders = [row[0] for row in con.execute(load_sql("publication/staged_folders_of_month"),
                                                  {"billing_month": month}).fetchall()]
        with transaction(con):
            for table in MONTHLY_TABLES:
                if table in PER_MONTH_TABLES:
                    month_tables.drop_staged(con, table, month)
                    continue
                con.execute(f"DELETE FROM {STAGING}.{table} WHERE billing_month = $billing_month", {"billing_month": month})  # noqa: S608
            con.execute(load_sql("publication/delete_staged_parts_of_month"), {"billing_month": month})
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)

    def stage_month(self, con: duckdb.DuckDBPyConnection, month: date, sources: dict[str, str]) -> dict[str, int]:
        """Replace `month` in each staging table (key) by the rows of a relation (value), at once."""
        with transaction(con):
            counts = {table: stage_rows(con, table, month, relation) for table, relation in sources.items()}
        return counts

    def stage_inventory(self, con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> dict[str, int]:
        """Stage whole inventory tables; the next published month publishes them with it."""
        with transaction(con):
            counts = {}
            for table, frame in frames.items():
                counts[table] = replace_table_from_frame(con, table, frame, schema=STAGING)
                mark_staged(con, None, table)
        refresh_views(con)
        return counts

    def stage_folder(self, con: duckdb.DuckDBPyConnection, month: date) -> Path:
        """A new empty folder for the month's packs, registered so publication swaps it in."""
        folder = self.publish_root / f"reports-{month:%Y-%m}-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        previous = [row[0] for row in con.execute(load_sql("publication/staged_folders_of_month"),
                                                   {"billing_month": month}).fetchall()]
        with transaction(con):
            mark_staged(con, month, REPORTS_PART, str(folder))
        for old in previous:
            shutil.rmtree(old, ignore_errors=True)
        return folder

    # -- publication ---------------------------------------------------------------------------

    def month_parquet_dir(self, table: str, month: date) -> Path:
        return self.parquet_root / _checked(table) / f"billing_month={month.isoformat()}"

    def table_parquet_dir(self, table: str) -> Path:
        return self.parquet_root / _checked(table)

    def publish(self, con: duckdb.DuckDBPyConnection, month: date | None,
                month_folder: Callable[[date], Path] | None = None) -> Publication:
        """Make everything staged for `month` (and a staged inventory) public in one transaction.

        `month` None publishes a staged inventory alone. `month_folder(month)` is where the
        month's packs go (the staged `reports` part), when there are any.
        """
        db = catalog(con)
        parts = con.execute(load_sql("publication/staged_parts_for_publication"), {"billing_month": month}).fetchall()
        publication = Publication(month=month)
        staged_dirs: list[tuple[Path, Path]] = []  # (staged, final)
        try:
            with transaction(con):
                for table_name, part_month, folder in parts:
                    if table_name == REPORTS_PART:
                        if month_folder is None:
                            raise PublicationError(f"{month:%Y-%m}: packs are staged but no reports folder was given")
                        staged_dirs.append((Path(folder), month_folder(part_month)))
                        publication.reports = True
                    elif part_month is None:
                        table = _checked(table_name)
                        con.execute(f"CREATE OR REPLACE TABLE {db}.main.{table} AS SELECT * FROM {db}.{STAGING}.{table}")  # noqa: S608
                        con.execute(f"DROP TABLE {db}.{STAGING}.{table}")
                        publication.inventory[table] = self._count(con, f"{db}.main.{table}")
                    else:
                        table = _checked(table_name)
                        publication.tables[table] = self._move_month(con, db, table, part_month)
                con.execute(load_sql("publication/delete_staged_parts_for_publication"), {"billing_month": month})
                refresh_views(con)
                if month is not None and "cost_allocation" in publication.tables:
                    following = self._refresh_following_month(con, db, month)
                    if following is not None:
                        publication.refreshed_months.append(following)
                # Parquet of every touched month, written from the transaction's own view.
                for table in publication.tables:
                    staged_dirs.append((self._write_parquet(con, f"{db}.main.{table}", month),
                                        self.month_parquet_dir(table, month)))
                for table in publication.inventory:
                    staged_dirs.append((self._write_parquet(con, f"{db}.main.{table}", None),
                                        self.table_parquet_dir(table)))
                for refreshed in publication.refreshed_months:
                    staged_dirs.append((self._write_parquet(con, f"{db}.main.project_spend_monthly", refreshed),
                                        self.month_parquet_dir("project_spend_monthly", refreshed)))
                for staged, final in staged_dirs:
                    con.execute(load_sql("publication/insert_journal_entry"),
                                {"staged": str(staged), "final": str(final)})
        except BaseException:
            for staged, _final in staged_dirs:
                if staged.name.startswith("parquet-"):
                    shutil.rmtree(staged, ignore_errors=True)
            refresh_views(con)
            raise
        self.apply_journal(con)
        return publication

    def _move_month(self, con: duckdb.DuckDBPyConnection, db: str, table: str, month: date) -> int:
        if table in PER_MONTH_TABLES:
            return month_tables.publish(con, table, month)  # a rename: no row is copied
        staged = f"{db}.{STAGING}.{table}"
        count = _replace_month_rows(con, f"{db}.main.{table}", month,
                                    f"SELECT * FROM {staged} WHERE billing_month = $billing_month")  # noqa: S608
        con.execute(f"DELETE FROM {staged} WHERE billing_month = $billing_month", {"billing_month": month})  # noqa: S608
        return count

    def _refresh_following_month(self, con: duckdb.DuckDBPyConnection, db: str, month: date) -> date | None:
        """Refresh the next published month's previous-month columns, which read `month`."""
        following = next_month(month)
        if con.execute(f"SELECT count(*) FROM {db}.main.project_spend_monthly WHERE billing_month = $billing_month",  # noqa: S608
                       {"billing_month": following}).fetchall()[0][0] == 0:
            return None
        con.execute(load_sql("publication/refresh_following_month_spend").replace("{{db}}", db),
                    {"billing_month": month, "following": following})
        return following

    @staticmethod
    def _count(con: duckdb.DuckDBPyConnection, qualified: str) -> int:
        return con.execute(f"SELECT count(*) FROM {qualified}").fetchall()[0][0]  # noqa: S608

    def _write_parquet(self, con: duckdb.DuckDBPyConnection, qualified: str, month: date | None) -> Path:
        staging = self.publish_root / f"parquet-{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        if month is None:
            relation = con.sql(f"SELECT * FROM {qualified}")  # noqa: S608 (identifier from a fixed list)
        else:
            relation = con.sql(f"SELECT * FROM {qualified} WHERE billing_month = $billing_month",  # noqa: S608
                               params={"billing_month": month})
        # zstd: about 5x smaller than the default snappy on cost rows, and no slower to write.
        relation.write_parquet(str(staging / "data.parquet"), compression=PARQUET_COMPRESSION)
        return staging

    def apply_journal(self, con: duckdb.DuckDBPyConnection) -> int:
        """Swap every journalled staged folder into place (idempotent), then clear the journal."""
        entries = con.execute(load_sql("publication/journal_entries")).fetchall()
        for staged, final in entries:
            staged_path, final_path = Path(staged), Path(final)
            if staged_path.exists():
                swap_directory(staged_path, final_path)
        if entries:
            con.execute(load_sql("publication/clear_journal"))
        return len(entries)

    def recover(self, con: duckdb.DuckDBPyConnection) -> None:
        """Finish a publication whose process died after its commit; drop orphaned staged folders."""
        self.apply_journal(con)
        referenced = {row[0] for row in con.execute(load_sql("publication/staged_folders")).fetchall()}
        for entry in (self.publish_root.iterdir() if self.publish_root.is_dir() else []):
            if str(entry) not in referenced:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        # swap_directory parks the replaced folder beside its target; a kill can leave it there.
        parents = [self.parquet_root, self.out_dir / "reports"]
        parents += [d for d in (self.parquet_root.iterdir() if self.parquet_root.is_dir() else []) if d.is_dir()]
        for parent in parents:
            for old in (parent.glob(".old-*") if parent.is_dir() else []):
                shutil.rmtree(old, ignore_errors=True)

    # -- conveniences for callers that publish at once (tests, tools) --------------------------

    def publish_month(self, con: duckdb.DuckDBPyConnection, month: date, sources: dict[str, str]) -> dict[str, int]:
        """Stage the relations for `month` and publish the month right away."""
        self.stage_month(con, month, sources)
        return self.publish(con, month).tables

    def publish_snapshot_tables(self, con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> dict[str, int]:
        """Stage whole inventory tables and publish them right away (no month)."""
        counts = self.stage_inventory(con, frames)
        self.publish_inventory(con)
        return counts

    def publish_inventory(self, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        """Publish a staged inventory on its own (no month staged with it)."""
        return self.publish(con, None).inventory

    def discard_staged_inventory(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """Drop a staged inventory that must not be published (a CLI run stopped by a partial
        inventory): no later month publishes it and no connection's views show it; the published
        inventory stays as it was. Returns the tables dropped."""
        db = catalog(con)
        staged = {row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_schema = $schema", {"schema": STAGING}).fetchall()}
        dropped = [table for table in INVENTORY_TABLES if table in staged]
        with transaction(con):
            for table in dropped:
                con.execute(f"DROP TABLE {db}.{STAGING}.{table}")  # noqa: S608 (identifiers from a fixed list)
                con.execute(load_sql("publication/delete_staged_part"), {"billing_month": None, "table_name": table})
        refresh_views(con)
        return dropped


def stage_rows(con: duckdb.DuckDBPyConnection, table: str, month: date, relation_name: str) -> int:
    """Replace `table`'s staged rows of `month` by a relation's, inside the caller's transaction."""
    table = _checked(table)
    target = f"{STAGING}.{table}"
    if table in PER_MONTH_TABLES:
        target = month_tables.begin_staging(con, table, month)
    count = _replace_month_rows(con, target, month, f"SELECT * FROM {_identifier(relation_name)}")  # noqa: S608
    mark_staged(con, month, table)
    return count


def _replace_month_rows(con: duckdb.DuckDBPyConnection, target: str, month: date, source: str) -> int:
    """Replace `target`'s rows of `month` by those `source` (a SELECT, `$billing_month` bound) returns, by
    column name, inside the caller's transaction; the month's row count after."""
    columns = ", ".join(f'"{c}"' for c in _columns(con, target))
    params = {"billing_month": month}
    con.execute(f"DELETE FROM {target} WHERE billing_month = $billing_month", params)  # noqa: S608
    con.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM ({source})",  # noqa: S608
                params if "$billing_month" in source else None)
    return con.execute(f"SELECT count(*) FROM {target} WHERE billing_month = $billing_month",  # noqa: S608
                       params).fetchall()[0][0]


def mark_staged(con: duckdb.DuckDBPyConnection, month: date | None, table: str, folder: str | None = None) -> None:
    """Record that `table`'s rows of `month` (None: the whole table) are staged, inside the
    caller's transaction."""
    con.execute(load_sql("publication/delete_staged_part"), {"billing_month": month, "table_name": table})
    con.execute(load_sql("publication/mark_staged_part"), {"billing_month": month, "table_name": table, "folder": folder})


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def replace_table_from_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame,
                             schema: str = STAGING) -> int:
    """Replace a whole snapshot table (inventory) of `schema` with a Polars frame, keeping its schema."""
    table = _checked(table)
    schema = _identifier(schema)
    view = f"_frame_{uuid.uuid4().hex[:8]}"
    con.register(view, frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {catalog(con)}.{schema}.{table} AS SELECT * FROM {view}")  # noqa: S608
    finally:
        con.unregister(view)
    return frame.height


def stage_frame(con: duckdb.DuckDBPyConnection, relation_name: str, frame: pl.DataFrame) -> None:
    """Copy a Polars frame into a temporary table, ready for `Warehouse.stage_month`."""
    relation_name = _identifier(relation_name)
    view = f"_frame_{uuid.uuid4().hex[:8]}"
    con.register(view, frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {relation_name} AS SELECT * FROM {view}")  # noqa: S608 (identifier from a fixed list)
    finally:
        con.unregister(view)


def month_relation(con: duckdb.DuckDBPyConnection, table: str, month: date) -> duckdb.DuckDBPyRelation:
    return con.sql(f"SELECT * FROM {_checked(table)} WHERE billing_month = $billing_month", params={"billing_month": month})  # noqa: S608 (identifier from a fixed list)
