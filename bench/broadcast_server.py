"""The floor's WebSocket server: bare `websockets`, every text message relayed to every other
client. Only websockets is imported, so its memory is the library's own.

    python -m bench.broadcast_server --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from websockets.asyncio.server import ServerConnection, broadcast, serve


async def relay_forever(port: int) -> None:
    clients: set[ServerConnection] = set()

    async def relay(connection: ServerConnection) -> None:
        clients.add(connection)
        try:
            async for message in connection:
                broadcast([c for c in clients if c is not connection], message)
        finally:
            clients.discard(connection)

    # As the gateway: no pings (API Gateway sends none), no compression.
    async with serve(relay, "127.0.0.1", port, ping_interval=None, compression=None):
        await asyncio.get_running_loop().create_future()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(relay_forever(parser.parse_args().port))


if __name__ == "__main__":
    main()
