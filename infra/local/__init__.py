"""The local AWS runtime: API Gateway (REST and WebSocket), Lambda and DynamoDB Streams
emulated on 127.0.0.1, without Docker. Run it with `python -m infra.local up`."""
