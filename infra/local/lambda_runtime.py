"""Lambda emulation: the app's functions run in-process with a Lambda-like context.

Each invocation logs START / END / REPORT lines shaped like CloudWatch's, and an
invocation that outlives its configured timeout is reported as Lambda reports it
("Task timed out") and counted as failed, though Python cannot stop the thread.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice.utils import to_cfn_resource_name

from infra.local.faults import Faults, InjectedFaultError

LOCAL_ACCOUNT_ID = "000000000000"

log = logging.getLogger("userdb.local.lambda")

Handler = Callable[[Any, Any], Any]


class FunctionNotFoundError(LookupError):
    """No function of that name or ARN (Lambda's ResourceNotFoundException)."""


class FunctionTimeoutError(RuntimeError):
    """The invocation took longer than the function's timeout."""


@dataclass(frozen=True)
class LambdaFunction:
    """A function as deployed: its name on AWS, the callable Lambda would run, and its
    logical id in `chalice package`'s template (what a merge template refers to)."""

    name: str
    handler: Handler
    memory_mb: int = 128
    timeout_s: float = 60.0
    region: str = "us-east-1"
    logical_id: str = ""

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.name}"


class LambdaContext:
    """What Lambda passes as `context`: request id, function, memory, remaining time."""

    def __init__(self, function: LambdaFunction, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._deadline = clock() + function.timeout_s
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock()) * 1000))


@dataclass
class Invocation:
    """The outcome of one invocation."""

    request_id: str
    result: Any = None
    error: BaseException | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class LambdaRuntime:
    """The functions of one app, found by name or ARN, invoked synchronously."""

    functions: dict[str, LambdaFunction] = field(default_factory=dict)
    # Invocations a fault plan makes fail raise before their handler runs (infra/local/faults.py).
    faults: Faults | None = None

    def add(self, function: LambdaFunction) -> None:
        self.functions[function.name] = function

    def find(self, name_or_arn: str) -> LambdaFunction:
        """By name, full ARN or partial ARN (`function:NAME`), as the Lambda API accepts."""
        name = name_or_arn.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]
        try:
            return self.functions[name]
        except KeyError:
            raise FunctionNotFoundError(f"Function not found: {name_or_arn}") from None

    def invoke(
        self, name_or_arn: str, event: Any, context: LambdaContext | None = None
    ) -> Invocation:
        """Run the function on `event`; errors are captured in the result, never raised.

        `context` is made here unless the caller made it first (the REST gateway does,
        as Chalice's LocalGateway hands it to authorizers before the route runs).
        """
        function = self.find(name_or_arn)
        context = context or LambdaContext(function)
        invocation = Invocation(request_id=context.aws_request_id)
        log.info("START RequestId: %s Function: %s", context.aws_request_id, function.name)
        started = time.perf_counter()
        try:
            fault = self.faults.function_fault(function.name) if self.faults else None
            if fault is not None:
                raise InjectedFaultError(fault.message)
            invocation.result = function.handler(event, context)
        except Exception as error:
            invocation.error = error
            log.exception("%s failed: %s", function.name, error)
        invocation.duration_ms = (time.perf_counter() - started) * 1000
        status = "error" if invocation.error else "success"
        if invocation.duration_ms > function.timeout_s * 1000:
            invocation.error = FunctionTimeoutError(
                f"Task timed out after {function.timeout_s:.2f} seconds"
            )
            invocation.result = None
            status = "timeout"
            log.error("%s: %s", context.aws_request_id, invocation.error)
        log.info(
            "REPORT RequestId: %s Function: %s Duration: %.2f ms Memory Size: %d MB Status: %s",
            context.aws_request_id,
            function.name,
            invocation.duration_ms,
            function.memory_mb,
            status,
        )
        return invocation


# What `chalice deploy` names the functions of websocket handlers, by route key.
WEBSOCKET_FUNCTION_SUFFIXES = {
    "$connect": "websocket_connect",
    "$default": "websocket_message",
    "$disconnect": "websocket_disconnect",
}


def rest_function_name(app: Any, config: Any) -> str:
    """The function behind the REST API: `{app}-{stage}`."""
    return f"{app.app_name}-{config.chalice_stage}"


def websocket_function_names(app: Any, config: Any) -> dict[str, str]:
    """Route key -> function name, for every websocket handler of `app`."""
    prefix = f"{rest_function_name(app, config)}-"
    return {
        route_key: prefix + WEBSOCKET_FUNCTION_SUFFIXES.get(route_key, handler_config.name)
        for route_key, handler_config in app.websocket_handlers.items()
    }


def function_logical_id(resource_name: str) -> str:
    """Chalice's logical id of a function in its template (the REST API's is `APIHandler`)."""
    return "APIHandler" if resource_name == "api_handler" else to_cfn_resource_name(resource_name)


def chalice_functions(app: Any, config: Any, region: str) -> LambdaRuntime:
    """Every function `chalice deploy` would create for `app`, named as it names them.

    The REST API's function is `{app}-{stage}` (Chalice's LocalGateway calls it);
    websocket handlers are `websocket_connect|message|disconnect`, event handlers
    and pure functions go by their `name`; all prefixed `{app}-{stage}-`.
    """
    prefix = f"{rest_function_name(app, config)}-"
    memory = int(config.lambda_memory_size or 128)
    timeout = float(config.lambda_timeout or 60)
    runtime = LambdaRuntime()

    def add(name: str, handler: Handler, resource_name: str) -> None:
        logical_id = function_logical_id(resource_name)
        runtime.add(LambdaFunction(name, handler, memory, timeout, region, logical_id))

    if app.routes:
        add(rest_function_name(app, config), app, "api_handler")
    for route_key, name in websocket_function_names(app, config).items():
        handler_name = app.websocket_handlers[route_key].name
        add(name, app.handler_map[handler_name], name.removeprefix(prefix))
    for source in app.event_sources:
        add(prefix + source.name, app.handler_map[source.name], source.name)
    for function in app.pure_lambda_functions:
        add(prefix + function.name, app.handler_map[function.name], function.name)
    return runtime
