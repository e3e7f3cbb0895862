"""LocalStack on this machine without Docker (docs/localstack.md): installed into its own
virtualenv under .cache/localstack, its DynamoDB Local pre-placed so that nothing downloads
at run time, started in the background on 127.0.0.1. Run it with `python -m infra.localstack`."""
