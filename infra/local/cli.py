"""`python -m infra.local up [flags]`: the command line of the local runtime."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path

from infra.local.config import BackendKind, RuntimeConfig
from infra.local.faults import FaultPlanError, load_plan
from infra.local.request_signing import signed_headers
from infra.local.stack.intrinsics import TemplateError
from infra.local.stack.template import read_template


def positive_seconds(value: str) -> float:
    """An argparse type: a number of seconds greater than zero."""
    seconds = float(value)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, not {value}")
    return seconds


def environment_setting(value: str) -> tuple[str, str]:
    """An argparse type: NAME=VALUE, an environment variable for the app."""
    name, equals, setting = value.partition("=")
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {value!r}")
    return name, setting


def fault_plan_file(value: str) -> Path:
    """An argparse type: a JSON fault plan that validates (infra/local/faults.py)."""
    path = Path(value)
    try:
        load_plan(path)
    except FaultPlanError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return path.resolve()


def template_file(value: str) -> Path:
    """An argparse type: a CloudFormation / SAM template the runtime can read."""
    path = Path(value)
    try:
        read_template(path)
    except (OSError, TemplateError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return path.resolve()


def _add_endpoint_flags(up: argparse.ArgumentParser, defaults: RuntimeConfig) -> None:
    """Where DynamoDB runs, and where each part listens."""
    up.add_argument(
        "--backend",
        choices=[kind.value for kind in BackendKind],
        default=defaults.backend.value,
        help="where DynamoDB runs (default: %(default)s)",
    )
    up.add_argument(
        "--endpoint",
        help="DynamoDB URL for --backend endpoint; LocalStack's for --backend localstack "
        "(default http://127.0.0.1:4566, started there when nothing answers)",
    )
    up.add_argument("--host", default=defaults.host)
    up.add_argument("--port", type=int, default=defaults.port, help="web + REST port")
    up.add_argument(
        "--ws-port", type=int, default=defaults.ws_port, help="WebSocket + @connections port"
    )
    up.add_argument(
        "--public-ws-url",
        metavar="URL",
        help="the WebSocket URL the web client is given in /config.json (default: "
        "ws://HOST:WS_PORT/STAGE, HOST being this machine's network address with --host 0.0.0.0)",
    )
    up.add_argument("--ddb-port", type=int, default=defaults.ddb_port, help="DynamoDB port")
    up.add_argument(
        "--data-dir",
        type=Path,
        default=defaults.data_dir,
        help="where dynamodb-local keeps tables and stream checkpoints (default: .data/)",
    )


def _add_timing_flags(up: argparse.ArgumentParser, defaults: RuntimeConfig) -> None:
    """API Gateway's connection limits, stream reading and the TTL sweep."""
    up.add_argument(
        "--ws-idle-timeout",
        type=positive_seconds,
        default=defaults.ws_idle_timeout_s,
        metavar="SECONDS",
        help="close a WebSocket after this long without a message (default: %(default)s)",
    )
    up.add_argument(
        "--ws-max-lifetime",
        type=positive_seconds,
        default=defaults.ws_max_lifetime_s,
        metavar="SECONDS",
        help="close any WebSocket after this long (default: %(default)s)",
    )
    up.add_argument(
        "--stream-interval",
        type=int,
        default=defaults.stream_interval_ms,
        metavar="MS",
        help="read each stream shard at most every MS ms (default: %(default)s)",
    )
    up.add_argument(
        "--stream-safety-poll",
        type=float,
        default=defaults.stream_safety_poll_s,
        metavar="SECONDS",
        help="read idle shards this often, for writes that bypass --ddb-port "
        "(default: %(default)s)",
    )
    up.add_argument(
        "--ttl-interval",
        type=float,
        default=defaults.ttl_sweep_interval_s,
        metavar="SECONDS",
        help="delete expired TTL items this often (default: %(default)s)",
    )


def _add_app_flags(up: argparse.ArgumentParser, defaults: RuntimeConfig) -> None:
    """The app, its stage, its template and its environment."""
    up.add_argument("--app-dir", type=Path, default=defaults.app_dir)
    up.add_argument("--stage", default=defaults.stage)
    up.add_argument(
        "--template",
        type=template_file,
        metavar="FILE",
        help="the app's CloudFormation / SAM template, e.g. its `chalice package "
        "--merge-template` file: its tables are created, its functions' environment "
        "variables and its DynamoDB stream mappings applied (docs/local-runtime.md)",
    )
    up.add_argument(
        "--env",
        type=environment_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set an environment variable of the app over the stage's (repeatable)",
    )


def _add_test_flags(up: argparse.ArgumentParser) -> None:
    """Test doubles: the OIDC provider and fault injection."""
    up.add_argument(
        "--oidc-test-provider",
        action="store_true",
        help="start a local OpenID Connect provider (needs --oidc-callback)",
    )
    up.add_argument(
        "--oidc-callback",
        action="append",
        default=[],
        metavar="URL",
        help="a redirect URI the OIDC test provider accepts (repeatable); a path is taken "
        "under the REST API, e.g. /auth/oauth/oidc/callback",
    )
    up.add_argument(
        "--faults",
        type=fault_plan_file,
        metavar="FILE",
        help="start with this JSON fault plan (docs/local-runtime.md, Fault injection)",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = RuntimeConfig()
    parser = argparse.ArgumentParser(
        prog="python -m infra.local",
        description="Run a Chalice app locally: REST, WebSocket, Lambda and DynamoDB Streams.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the whole local stack")
    _add_endpoint_flags(up, defaults)
    _add_timing_flags(up, defaults)
    _add_app_flags(up, defaults)
    _add_test_flags(up)
    faults = commands.add_parser(
        "faults",
        help="show, set or clear the fault plan of a running runtime (requests signed with "
        "its credentials, which /@faults requires)",
    )
    faults.add_argument("action", choices=["show", "set", "clear"])
    faults.add_argument("file", nargs="?", type=fault_plan_file, help="the plan, for `set`")
    faults.add_argument("--host", default=defaults.host)
    faults.add_argument("--ws-port", type=int, default=defaults.ws_port)
    args = parser.parse_args(argv)
    if args.command == "up" and args.oidc_test_provider and not args.oidc_callback:
        up.error("--oidc-test-provider needs at least one --oidc-callback (the app's redirect URI)")
    return args


def control_faults(args: argparse.Namespace) -> int:
    """`faults show|set FILE|clear`: one signed call to `/@faults`; prints its answer."""
    method = {"show": "GET", "set": "PUT", "clear": "DELETE"}[args.action]
    if method == "PUT" and args.file is None:
        print("faults set needs the plan's FILE", file=sys.stderr)
        return 2
    body = args.file.read_bytes() if method == "PUT" else b""
    url = f"http://{args.host}:{args.ws_port}/@faults"
    request = urllib.request.Request(
        url, data=body or None, method=method, headers=signed_headers(method, url, body)
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            print(reply.read().decode())
    except urllib.error.HTTPError as error:
        print(error.read().decode(), file=sys.stderr)
        return 1
    except OSError as error:
        print(f"cannot reach the runtime at {url}: {error}", file=sys.stderr)
        return 1
    return 0


def config_from(args: argparse.Namespace) -> RuntimeConfig:
    app_dir = args.app_dir.resolve()
    return RuntimeConfig(
        backend=BackendKind(args.backend),
        endpoint=args.endpoint,
        host=args.host,
        port=args.port,
        ws_port=args.ws_port,
        public_ws_url=args.public_ws_url,
        ws_idle_timeout_s=args.ws_idle_timeout,
        ws_max_lifetime_s=args.ws_max_lifetime,
        ddb_port=args.ddb_port,
        data_dir=args.data_dir.resolve(),
        stream_interval_ms=args.stream_interval,
        stream_safety_poll_s=args.stream_safety_poll,
        ttl_sweep_interval_s=args.ttl_interval,
        app_dir=app_dir,
        stage=args.stage,
        web_dir=app_dir / "web",
        template_file=args.template,
        oidc_test_provider=args.oidc_test_provider,
        oidc_callbacks=tuple(args.oidc_callback),
        faults_file=args.faults,
        app_env=tuple(args.env),
    )


def configure_logging() -> None:
    """The runtime's own lines (START / REPORT, connections) on stderr, apart from the app's."""
    runtime_log = logging.getLogger("userdb.local")
    if not runtime_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        runtime_log.addHandler(handler)
    runtime_log.setLevel(logging.INFO)
    # Its name sits under the app's Powertools logger ("userdb"): keep the lines out of it.
    runtime_log.propagate = False


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "faults":
        raise SystemExit(control_faults(args))
    configure_logging()
    from infra.local.runtime import LocalRuntime  # noqa: PLC0415 - heavy; after --help

    runtime = LocalRuntime(config_from(args))
    try:
        runtime.start_backend_and_app()
    except KeyboardInterrupt:
        runtime.stop()
        raise SystemExit(130) from None
    except TemplateError as error:
        runtime.stop()
        print(f"error: template {args.template}: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except BaseException:
        runtime.stop()
        raise
    print(runtime.describe(), flush=True)
    try:
        asyncio.run(runtime.serve())
    except KeyboardInterrupt:
        runtime.stop()
    print("userdb local runtime stopped", file=sys.stderr)
