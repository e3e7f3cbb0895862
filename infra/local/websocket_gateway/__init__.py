"""The local API Gateway WebSocket API: sockets on --ws-port, `$connect` / `$default` /
`$disconnect` (and any route key) invoked as Lambda functions, and the `@connections`
management API on the same port.

The pure parts (events, route selection, management replies, limits) have no sockets and
are tested without them; `gateway` is the thin ASGI layer that does the I/O.
"""
