"""Fault injection: `@connections` calls that fail and Lambda functions that raise, on demand.

A plan (JSON, from `--faults FILE` or `PUT /@faults` on the WebSocket port) lists rules:

    {"seed": 7,
     "connections": [{"status": 429, "count": 3, "connectionId": "abc="},
                     {"status": 410, "rate": 0.1, "operations": ["POST", "DELETE"]}],
     "functions":   [{"function": "*-fan_out", "count": 1, "message": "boom"}]}

A connection rule makes matching `@connections` calls answer with its status (429
LimitExceededException, 410 GoneException, 403 ForbiddenException, 500
InternalServerError) instead of reaching the socket, or answer only after `delayMs`
(a slow API Gateway; with a status too, it answers that after the delay); a function
rule makes matching
invocations raise before the handler runs. `count` fails the next N matches, `rate`
fails each match with that probability (from a generator seeded by `seed`, so a run
can be replayed). The first rule that fires decides. No I/O here.
"""

from __future__ import annotations

import fnmatch
import json
import random
import secrets
import threading
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# The errors API Gateway's management API answers with, by status.
CONNECTION_ERRORS = {
    403: "ForbiddenException",
    410: "GoneException",
    429: "LimitExceededException",
    500: "InternalServerError",
}
Operation = Literal["POST", "GET", "DELETE"]


class FaultPlanError(ValueError):
    """A fault plan that cannot be used; the message says what is wrong."""


class InjectedFaultError(RuntimeError):
    """What a function with an injected fault raises instead of running its handler."""


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    count: Annotated[int, Field(ge=1)] | None = None
    rate: Annotated[float, Field(gt=0, le=1)] | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> _Rule:
        if (self.count is None) == (self.rate is None):
            raise ValueError("give either count (the next N matches) or rate (0 < rate <= 1)")
        return self


class ConnectionFault(_Rule):
    """`@connections` calls (POST by default), of one connection or all, answer `status`,
    or are answered only after `delayMs` (and then as usual, unless `status` is given too)."""

    status: Literal[403, 410, 429, 500] | None = None
    delay_ms: Annotated[int, Field(ge=1, le=60_000)] | None = Field(default=None, alias="delayMs")
    connection_id: str | None = Field(default=None, alias="connectionId", min_length=1)
    operations: Annotated[list[Operation], Field(min_length=1)] = ["POST"]

    @model_validator(mode="after")
    def _does_something(self) -> ConnectionFault:
        if self.status is None and self.delay_ms is None:
            raise ValueError("give a status to answer with, a delayMs, or both")
        return self

    @property
    def error_type(self) -> str:
        return CONNECTION_ERRORS[self.status] if self.status is not None else ""

    def matches(self, operation: str, connection_id: str) -> bool:
        return operation in self.operations and self.connection_id in (None, connection_id)


class FunctionFault(_Rule):
    """Invocations of the functions whose name matches `function` (a glob) raise."""

    function: str = Field(min_length=1)
    message: str = "injected fault"

    def matches(self, function_name: str) -> bool:
        return fnmatch.fnmatchcase(function_name, self.function)


class FaultPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int | None = None
    connections: list[ConnectionFault] = []
    functions: list[FunctionFault] = []


def parse_plan(document: Any) -> FaultPlan:
    """A plan from decoded JSON; FaultPlanError naming the first problem."""
    try:
        return FaultPlan.model_validate(document)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "plan"
        raise FaultPlanError(f"{where}: {first['msg']}") from None


def load_plan(path: Path) -> FaultPlan:
    """A plan from a JSON file (`--faults FILE`)."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise FaultPlanError(f"{path}: {error}") from None
    return parse_plan(document)


class _Tally:
    """How often a rule fired, and how many of its `count` are left."""

    def __init__(self, rule: _Rule) -> None:
        self.rule = rule
        self.fired = 0

    @property
    def remaining(self) -> int | None:
        return None if self.rule.count is None else self.rule.count - self.fired

    def fires(self, draw: random.Random) -> bool:
        if self.rule.count is not None:
            if self.fired >= self.rule.count:
                return False
        elif draw.random() >= (self.rule.rate or 0):
            return False
        self.fired += 1
        return True

    def describe(self) -> dict[str, Any]:
        described = self.rule.model_dump(by_alias=True, exclude_none=True)
        described["fired"] = self.fired
        if self.remaining is not None:
            described["remaining"] = self.remaining
        return described


class Faults:
    """The runtime's current plan and its counters; safe to use from any thread."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.replace(plan or FaultPlan())

    def replace(self, plan: FaultPlan) -> None:
        """Use `plan` from now on, with fresh counters (and a fresh seed if it names none)."""
        seed = plan.seed if plan.seed is not None else secrets.randbits(32)
        with self._lock:
            self._seed = seed
            self._draw = random.Random(seed)  # noqa: S311 - fault timing, not secrecy
            self._connections = [_Tally(rule) for rule in plan.connections]
            self._functions = [_Tally(rule) for rule in plan.functions]

    def clear(self) -> None:
        self.replace(FaultPlan())

    def connection_fault(self, operation: str, connection_id: str) -> ConnectionFault | None:
        """The rule that makes this `@connections` call fail now, if any (and count it)."""
        with self._lock:
            for tally in self._connections:
                rule = tally.rule
                assert isinstance(rule, ConnectionFault)
                if rule.matches(operation, connection_id) and tally.fires(self._draw):
                    return rule
        return None

    def function_fault(self, function_name: str) -> FunctionFault | None:
        """The rule that makes this invocation raise now, if any (and count it)."""
        with self._lock:
            for tally in self._functions:
                rule = tally.rule
                assert isinstance(rule, FunctionFault)
                if rule.matches(function_name) and tally.fires(self._draw):
                    return rule
        return None

    def describe(self) -> dict[str, Any]:
        """The plan as `GET /@faults` shows it: each rule with `fired` (and `remaining`)."""
        with self._lock:
            return {
                "seed": self._seed,
                "connections": [tally.describe() for tally in self._connections],
                "functions": [tally.describe() for tally in self._functions],
            }


def control(faults: Faults, method: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """`GET|PUT|DELETE /@faults`: the status and JSON answer (PUT replaces the plan)."""
    if method == "PUT":
        try:
            document = json.loads(body or b"null")
        except ValueError:
            return 400, {"message": "The body must be a JSON fault plan."}
        try:
            faults.replace(parse_plan(document))
        except FaultPlanError as error:
            return 400, {"message": str(error)}
    elif method == "DELETE":
        faults.clear()
    return 200, faults.describe()
