from infra.localstack.cli import main

raise SystemExit(main())
