"""Make a CSV export that DuckDB cannot parse loadable: one broken line becomes one reject.

Export files are read by DuckDB directly (the fast path). A file it refuses — a line with too
many or too few fields, an unterminated quote, a byte that is not UTF-8, a UTF-16 file (Excel's
"Unicode text" save) — is rewritten here, once, into a clean UTF-8 copy that keeps one row per
data record *in its place*, so data row numbers stay those of the original file:

* a good record is copied field for field;
* a broken record becomes a row of empty fields with two extra columns, `_aml_broken_reason`
  and `_aml_broken_raw` (the line as it was), which the typed-rows SQL turns into a reject.

Records are split on quote parity, as a CSV parser does, so quoted fields may span lines. A
record that is broken *and* spans lines (an unterminated quote swallows the lines after it) is
rejected for its first line only, and parsing resumes on the next line. No Dagster here.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BROKEN_REASON = "_aml_broken_reason"
BROKEN_RAW = "_aml_broken_raw"
# A quoted field longer than this many lines is taken for an unterminated quote.
MAX_RECORD_LINES = 1000
_RAW_LIMIT = 4000  # characters of a broken line kept in cost_rejects.raw


class CsvRepairError(ValueError):
    """The file cannot be read even line by line (no header, unknown encoding)."""


@dataclass(frozen=True)
class RepairResult:
    records: int  # data records written (good + broken)
    broken: int
    encoding: str


def _open_binary(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def sniff_encoding(path: Path) -> str:
    """`utf-16` (either byte order, from its BOM), else `utf-8` (a UTF-8 BOM is fine for DuckDB)."""
    with _open_binary(path) as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def _lines(path: Path, encoding: str) -> Iterator[tuple[str, str | None]]:
    """(line text with its line break, the decoding problem or None), one per physical line."""
    with _open_binary(path) as raw:
        if encoding == "utf-16":
            text = io.TextIOWrapper(raw, encoding="utf-16", errors="strict", newline="")
            try:
                for line in text:
                    yield line, None
            except UnicodeDecodeError as exc:
                raise CsvRepairError(f"not valid UTF-16 text ({exc.reason} at byte {exc.start})") from None
            return
        first = True
        for chunk in raw:
            if first:
                chunk = chunk.removeprefix(codecs.BOM_UTF8)
                first = False
            try:
                yield chunk.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                yield chunk.decode("utf-8", errors="backslashreplace"), \
                    f"invalid UTF-8 byte 0x{chunk[exc.start]:02x} at column {exc.start + 1}"


def _strip_break(text: str) -> str:
    return text.rstrip("\r\n")


def _parse(record: str) -> list[str] | None:
    try:
        rows = list(csv.reader(io.StringIO(record), strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def repair_csv(src: Path, dest: Path) -> RepairResult:
    """Write the clean copy of `src` to `dest` (plain UTF-8 CSV); see the module docstring."""
    encoding = sniff_encoding(src)
    pending: deque[tuple[str, str | None]] = deque()
    source = _lines(src, encoding)

    def next_line() -> tuple[str, str | None] | None:
        if pending:
            return pending.popleft()
        return next(source, None)

    header: list[str] | None = None
    records = broken = 0
    with open(dest, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        while True:
            first = next_line()
            if first is None:
                break
            text, problem = first
            if not _strip_break(text).strip() and header is not None:
                continue  # a blank line is no data record
            taken = [first]
            record = text
            while record.count('"') % 2 == 1 and len(taken) < MAX_RECORD_LINES:
                more = next_line()
                if more is None:
                    break
                taken.append(more)
                record += more[0]
                problem = problem or more[1]
            fields = None if problem else _parse(_strip_break(record))
            if header is None:
                if fields is None or not any(f.strip() for f in fields):
                    raise CsvRepairError("no readable header row")
                header = fields
                writer.writerow([*header, BROKEN_REASON, BROKEN_RAW])
                continue
            records += 1
            if fields is not None and len(fields) == len(header):
                writer.writerow([*fields, "", ""])
                continue
            # Broken: reject the first line alone; the lines a quote swallowed are parsed again.
            for line in reversed(taken[1:]):
                pending.appendleft(line)
            line_text = _strip_break(taken[0][0])
            if taken[0][1]:
                reason = taken[0][1]
            elif fields is None and len(taken) > 1 or line_text.count('"') % 2 == 1:
                reason = "unterminated quote"
            elif fields is None:
                reason = "malformed quoting"
            else:
                reason = f"{len(fields)} fields, the header has {len(header)}"
            broken += 1
            writer.writerow([*([""] * len(header)), f"unparseable line: {reason}", line_text[:_RAW_LIMIT]])
    if header is None:
        raise CsvRepairError("empty file, no header row")
    return RepairResult(records=records, broken=broken, encoding=encoding)
