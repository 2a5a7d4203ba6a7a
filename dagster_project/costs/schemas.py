"""Schema family detection from an export file's header row (docs/ingestion.md).

Column names are compared case-insensitively after stripping a UTF-8 BOM and surrounding
whitespace. The families and how they are told apart:

* **FOCUS** (``BilledCost`` + ``EffectiveCost`` + ``ChargePeriodStart``):
  - ``focus-1.2``: has the 1.2 columns (``SkuMeter``, ``CapacityReservationId``,
    ``CommitmentDiscountQuantity``, ``SkuPriceDetails``) and none of the 1.0 Microsoft
    extensions that 1.2 replaced (``x_SkuDetails``, ``x_SkuMeterName``, ``x_InvoiceId``,
    ``x_PricingCurrency``);
  - ``focus-1.2-preview``: 1.2 columns *and* some of those 1.0 extensions (Microsoft's preview);
  - ``focus-1.0`` / ``focus-1.0r2``: no 1.2 column. The two share a header (1.0r2 fixed value
    formats), so only the manifest's ``dataVersion`` can say ``1.0r2``.
* **EA** (PascalCase, ``MeterCategory`` + ``Date`` + a cost column): the ``Cost`` vintage
  (``ea-cost``) and the ``CostInBillingCurrency`` vintage (``ea-costinbillingcurrency``).
  Actual and amortized exports share a header; the manifest's ``exportConfig.type``
  (``ActualCost`` / ``AmortizedCost``) or the file name (``amortized``) says which.
* **MCA** (camelCase, ``costInBillingCurrency`` + ``date`` + ``meterCategory``):
  ``mca``, loaded by the EA statement (DuckDB binds column names case-insensitively).

An unknown header raises `UnknownSchemaError` naming the file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

BOM = "\ufeff"


class UnknownSchemaError(ValueError):
    """The header of an export file matches no supported schema family."""


@dataclass(frozen=True)
class SchemaInfo:
    family: str  # focus | ea | mca
    name: str  # focus-1.0 | focus-1.0r2 | focus-1.2-preview | focus-1.2 | ea-cost | ... | mca
    columns: tuple[str, ...]  # as written in the file (BOM stripped)
    cost_basis: str | None = None  # EA / MCA: actual | amortized | None when unknown

    @property
    def loadable(self) -> bool:
        return self.family in ("focus", "ea", "mca")


_FOCUS_REQUIRED = {"billedcost", "effectivecost", "chargeperiodstart"}
_FOCUS_12 = {"skumeter", "capacityreservationid", "commitmentdiscountquantity", "skupricedetails"}
_FOCUS_10_EXT = {"x_skudetails", "x_skumetername", "x_invoiceid", "x_pricingcurrency"}


def normalize_header(columns: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    cols = list(columns)
    if cols and cols[0].startswith(BOM):
        cols[0] = cols[0][len(BOM):]
    return tuple(c.strip() for c in cols)


def detect_schema(columns: list[str] | tuple[str, ...], file: str | Path = "<header>",
                  data_version: str | None = None, export_type: str | None = None) -> SchemaInfo:
    """Name the schema family of a header. `data_version` / `export_type` come from the manifest."""
    cols = normalize_header(columns)
    lowered = {c.lower() for c in cols}
    if _FOCUS_REQUIRED <= lowered:
        has_12 = bool(lowered & _FOCUS_12)
        has_10_ext = bool(lowered & _FOCUS_10_EXT)
        version = (data_version or "").strip().lower()
        if has_12 and has_10_ext:
            name = "focus-1.2-preview"
        elif has_12:
            name = "focus-1.2"
        elif version == "1.0r2":
            name = "focus-1.0r2"
        else:
            name = "focus-1.0"
        return SchemaInfo("focus", name, cols)
    basis = _cost_basis(export_type, file)
    if {"date", "metercategory"} <= lowered and lowered & {"cost", "costinbillingcurrency"}:
        camel = sum(1 for c in cols if c[:1].islower()) > len(cols) / 2
        if camel:
            return SchemaInfo("mca", "mca", cols, basis)
        vintage = "ea-costinbillingcurrency" if "costinbillingcurrency" in lowered else "ea-cost"
        return SchemaInfo("ea", vintage, cols, basis)
    preview = ", ".join(cols[:8]) + (", …" if len(cols) > 8 else "")
    raise UnknownSchemaError(
        f"{file}: unknown cost export schema (header: {preview or 'empty'}). Supported: FOCUS 1.0 / "
        "1.0r2 / 1.2-preview / 1.2, EA actual/amortized (Cost or CostInBillingCurrency), MCA.")


def _cost_basis(export_type: str | None, file: str | Path) -> str | None:
    t = (export_type or "").lower()
    if "amortized" in t:
        return "amortized"
    if "actual" in t or t == "usage":
        return "actual"
    name = Path(str(file)).name.lower()
    if "amortized" in name:
        return "amortized"
    if "actual" in name:
        return "actual"
    return None


def read_header(path: Path) -> tuple[str, ...]:
    """The header row of a CSV (plain or gzip) or the column names of a Parquet file."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            return tuple(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise UnknownSchemaError(f"{path}: cannot read the Parquet schema ({exc})") from exc
    try:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rb") as fh:
            head = fh.readline(1 << 20)
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
                fh.seek(0)
                first = io.TextIOWrapper(fh, encoding="utf-16", newline="").readline()
            else:
                # Only the header line is decoded: a bad byte further down is a rejected row, later.
                first = head.decode("utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise UnknownSchemaError(f"{path}: cannot read the header row ({exc})") from exc
    if not first.strip():
        raise UnknownSchemaError(f"{path}: empty file, no header row")
    return normalize_header(next(csv.reader(io.StringIO(first))))


def detect_file_schema(path: Path, data_version: str | None = None, export_type: str | None = None) -> SchemaInfo:
    return detect_schema(read_header(path), path, data_version, export_type)
