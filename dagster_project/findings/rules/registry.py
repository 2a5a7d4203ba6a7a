"""The rule registry: every cleanup rule is one small function registered with its id, category
and meaning. A rule reads the month through a `FindingsContext` and yields `Proposal`s; the
context turns each into a published row. Adding a rule: write the function (and its command
builder) in the module of its resource family, decorate it with `@rule(...)`, import the module
in `rules/__init__.py`, and document it in docs/tables.md (`findings`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagster_project.findings.model import Proposal

if TYPE_CHECKING:
    from dagster_project.findings.rules.context import FindingsContext

RuleFunction = Callable[["FindingsContext"], Iterable[Proposal]]


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    title: str  # what it means
    check: RuleFunction
    # The lowest severity of its findings (spend without an owner matters even at small amounts).
    min_severity: str = "low"


REGISTRY: dict[str, Rule] = {}


def rule(rule_id: str, category: str, title: str, min_severity: str = "low") -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule function under `rule_id` (in the order the modules define them)."""
    def register(check: RuleFunction) -> RuleFunction:
        if rule_id in REGISTRY:
            raise ValueError(f"finding rule {rule_id!r} registered twice")
        REGISTRY[rule_id] = Rule(rule_id, category, title, check, min_severity)
        return check
    return register
