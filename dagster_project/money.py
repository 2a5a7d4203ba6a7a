"""Money as people see it: one rounding rule and one way of writing amounts, used by the CLI, the
Dagster metadata, the HTML report, the workbook and the chargeback CSV (docs/reports.md, "Money").

* **Rounding**: half up to the cent — half away from zero, Python's `ROUND_HALF_UP`, the same as
  DuckDB's `round()` on a DECIMAL. `1234.125` is `1,234.13` everywhere; `-0.005` is `-0.01`.
* **Parts of a total** (the chargeback lines, a table with a totals row): each part is rounded by
  the **largest remainder** method so the parts add up exactly to their total rounded half up.
  Every part is its exact amount rounded down or up to the cent (never further than a cent away),
  and only the parts with the largest fractions of a cent are rounded up.
* **Writing**: thousands separated by `,`, a `-` for negatives, two decimals, no currency symbol
  (the currency code stands beside the amount); a zero is `0.00`, never `-0.00`.

Amounts are `Decimal` end to end: a float is refused, so no binary rounding sneaks in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

CENT = Decimal("0.01")
ROUNDING = ROUND_HALF_UP
_PRECISION = 80  # digits kept while adding: DECIMAL(38, 10) sums never lose a digit
EMPTY = "–"


def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"money must be a Decimal, int or str, not {type(value).__name__}: {value!r}")
    return Decimal(value)  # int or str


def round_to(value: object, unit: Decimal = CENT) -> Decimal:
    """`value` rounded half up (away from zero) to `unit`."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return _decimal(value).quantize(unit, rounding=ROUNDING)


def round_cents(value: object) -> Decimal:
    """`value` rounded half up to the cent: `1234.125` → `1234.13`, `-0.005` → `-0.01`."""
    return round_to(value, CENT)


def total(values: Iterable[object]) -> Decimal:
    """The exact sum (no rounding on the way; `None` counts as nothing)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return sum((_decimal(v) for v in values if v is not None), Decimal(0))


def allocate(values: Sequence[object], unit: Decimal = CENT) -> list[Decimal]:
    """Round every value to `unit` so that the results add up exactly to their exact sum rounded
    half up (largest remainder method).

    Each value is first rounded down (toward minus infinity); the units still missing to reach
    the rounded total go one each to the values with the largest remainders — ties to the larger
    absolute amount, then to the earlier position, so the result is deterministic for an order.
    A value whose exact amount is already a whole number of units is never changed.
    """
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        exact = [_decimal(v) for v in values]
        if not exact:
            return []
        target = total(exact).quantize(unit, rounding=ROUNDING)
        floors = [v.quantize(unit, rounding=ROUND_FLOOR) for v in exact]
        remainders = [v - f for v, f in zip(exact, floors, strict=True)]
        missing = int((target - sum(floors, Decimal(0))) / unit)
        if not 0 <= missing <= len(exact):  # impossible by construction; kept as a guard
            raise ArithmeticError(f"largest remainder: {missing} units for {len(exact)} values")
        order = sorted(range(len(exact)), key=lambda i: (-remainders[i], -abs(exact[i]), i))
        for index in order[:missing]:
            floors[index] += unit
        return floors


def allocate_optional(values: Sequence[object | None], unit: Decimal = CENT) -> list[Decimal | None]:
    """`allocate` over the values that are not `None`; `None` stays `None` (no amount at all)."""
    present = [i for i, v in enumerate(values) if v is not None]
    rounded = allocate([values[i] for i in present], unit)
    out: list[Decimal | None] = [None] * len(values)
    for index, value in zip(present, rounded, strict=True):
        out[index] = value
    return out


def format_money(value: object | None, signed: bool = False, empty: str = EMPTY) -> str:
    """`1234.125` → `1,234.13`; `signed` puts a `+` before positive amounts; `None` → `empty` (`–`)."""
    if value is None:
        return empty
    text = f"{round_cents(value):,}"
    if text == "-0.00":
        text = "0.00"
    if signed and not text.startswith("-") and text != "0.00":
        text = "+" + text
    return text


def format_per_currency(amounts: Mapping[str, object], suffix: str = "/month") -> str:
    """Amounts of several currencies, never added: `{"EUR": 360, "USD": 900}` →
    `360.00 EUR/month + 900.00 USD/month`; no amount at all → `0.00`."""
    return " + ".join(f"{format_money(v)} {c}{suffix}" for c, v in amounts.items()) or "0.00"


def format_percent(value: object | None, signed: bool = False) -> str:
    """A percentage given in percent (`65.994` → `65.99%`), half up to 0.01 %; `None` → `–`."""
    if value is None:
        return EMPTY
    return format_money(value, signed=signed) + "%"


def format_fraction(value: object | None, signed: bool = False) -> str:
    """A share given as a fraction (`0.6599` → `65.99%`), half up to 0.01 %; `None` → `–`."""
    if value is None:
        return EMPTY
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return format_percent(_decimal(value) * 100, signed=signed)


def plain_cents(value: object | None) -> str:
    """Machine-readable cents for a CSV: `1234.5` → `1234.50` (no separators); `None` → ``."""
    if value is None:
        return ""
    text = str(round_cents(value))
    return "0.00" if text == "-0.00" else text
