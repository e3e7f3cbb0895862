"""The benchmark's final table: each measured figure beside its floor and its target.

A figure is one number with its unit; its floor is what the machine does for the
same work without our code (bench/floors.py); its target, when the issue names one,
is a limit to stay at or under (or to reach, for capacities).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.harness import format_table

HEADERS = ("measure", "result", "floor", "target", "met?")


def format_value(value: float, unit: str) -> str:
    """A figure with as many digits as it deserves: 0.84 µs, 12.3 ms, 1,480 /s, 30."""
    size = abs(value)
    whole = float(value).is_integer() and (size >= 10 or not unit)
    digits = 0 if whole or size >= 100 else 1 if size >= 10 else 2
    return f"{value:,.{digits}f} {unit}".strip()


@dataclass(frozen=True)
class Figure:
    """One row: `measure` came out at `value` `unit`; `floor` is `floor_is` on this machine."""

    measure: str
    value: float
    unit: str
    floor: float | None = None
    floor_is: str = ""
    target: float | None = None
    # Capacities and rates are targets to reach; latencies and sizes, limits to stay under.
    at_least: bool = False

    @property
    def met(self) -> bool | None:
        """None without a target."""
        if self.target is None:
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target

    def target_text(self) -> str:
        if self.target is None:
            return "—"
        return ("≥ " if self.at_least else "≤ ") + format_value(self.target, self.unit)

    def met_text(self) -> str:
        return {None: "—", True: "met", False: "NOT MET"}[self.met]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def render(figures: Sequence[Figure]) -> str:
    """The table, then what each floor mark stands for."""
    marks: dict[str, str] = {}
    rows = []
    for figure in figures:
        floor = "—"
        if figure.floor is not None:
            mark = marks.setdefault(figure.floor_is, chr(ord("a") + len(marks)))
            floor = f"{format_value(figure.floor, figure.unit)} [{mark}]"
        rows.append(
            [
                figure.measure,
                format_value(figure.value, figure.unit),
                floor,
                figure.target_text(),
                figure.met_text(),
            ]
        )
    legend = [f"[{mark}] {what}" for what, mark in marks.items()]
    return "\n".join([format_table(HEADERS, rows), *(["", "floors:", *legend] if legend else [])])
