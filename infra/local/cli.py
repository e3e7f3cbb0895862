"""`python -m infra.local up [flags]`: the command line of the local runtime."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from infra.local.config import BackendKind, RuntimeConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = RuntimeConfig()
    parser = argparse.ArgumentParser(
        prog="python -m infra.local",
        description="Run a Chalice app locally: REST, WebSocket, Lambda and DynamoDB Streams.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the whole local stack")
    up.add_argument(
        "--backend",
        choices=[kind.value for kind in BackendKind],
        default=defaults.backend.value,
        help="where DynamoDB runs (default: %(default)s)",
    )
    up.add_argument("--endpoint", help="DynamoDB URL for --backend endpoint")
    up.add_argument("--host", default=defaults.host)
    up.add_argument("--port", type=int, default=defaults.port, help="web + REST port")
    up.add_argument("--ws-port", type=int, default=defaults.ws_port, help="WebSocket port")
    up.add_argument("--ddb-port", type=int, default=defaults.ddb_port, help="DynamoDB port")
    up.add_argument(
        "--data-dir",
        type=Path,
        default=defaults.data_dir,
        help="where dynamodb-local keeps tables and stream checkpoints (default: .data/)",
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
    up.add_argument("--app-dir", type=Path, default=defaults.app_dir)
    up.add_argument("--stage", default=defaults.stage)
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> RuntimeConfig:
    app_dir = args.app_dir.resolve()
    return RuntimeConfig(
        backend=BackendKind(args.backend),
        endpoint=args.endpoint,
        host=args.host,
        port=args.port,
        ws_port=args.ws_port,
        ddb_port=args.ddb_port,
        data_dir=args.data_dir.resolve(),
        stream_interval_ms=args.stream_interval,
        stream_safety_poll_s=args.stream_safety_poll,
        ttl_sweep_interval_s=args.ttl_interval,
        app_dir=app_dir,
        stage=args.stage,
        web_dir=app_dir / "web",
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from infra.local.runtime import LocalRuntime  # noqa: PLC0415 - heavy; after --help

    runtime = LocalRuntime(config_from(args))
    runtime.start_backend_and_app()
    print(runtime.describe(), flush=True)
    try:
        asyncio.run(runtime.serve())
    except KeyboardInterrupt:
        runtime.stop()
    print("userdb local runtime stopped", file=sys.stderr)
