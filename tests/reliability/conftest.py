"""The reliability suite's fixtures: a replayable seed, a fleet of sync clients, the runtime.

Every scenario draws its randomness (client ids, dropped acks, which socket is cut, fault
plans) from one seed, printed with the test's output: `USERDB_RELIABILITY_SEED=<seed>
.venv/bin/pytest -m reliability` replays a failure with the same choices (timing, which
the machine decides, is not replayed).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest

from infra.local.config import PROJECT_DIR
from tests.reliability.fleet import Fleet
from tests.support.local_runtime import RuntimeProcess, require_dynamodb_local

SEED_VARIABLE = "USERDB_RELIABILITY_SEED"


@pytest.fixture
def seed(request: pytest.FixtureRequest, record_property) -> int:
    """This test's seed: USERDB_RELIABILITY_SEED, or a fresh one (printed either way)."""
    chosen = int(os.environ.get(SEED_VARIABLE) or random.SystemRandom().randrange(2**32))
    print(f"\n{request.node.name}: {SEED_VARIABLE}={chosen}")
    record_property("seed", chosen)
    return chosen


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    """Sync clients on one event loop; all stopped after the test."""
    clients = Fleet()
    yield clients
    clients.close()


@pytest.fixture(scope="package")
def reliability_runtime() -> Iterator[RuntimeProcess]:
    """This project's app on DynamoDB Local (silo mode, the default stream interval)."""
    require_dynamodb_local()
    runtime = RuntimeProcess(PROJECT_DIR).start()
    yield runtime
    died = runtime.process is not None and runtime.process.poll() is not None
    runtime.stop()
    if died:
        print("the runtime exited early:\n" + runtime.output_text()[-5000:])
