"""The files LocalStack would otherwise download at run time, placed under its
FILESYSTEM_ROOT where its package installer finds them already installed:

- DynamoDB Local (version "2" to LocalStack): links to the jar `make dynamodb-local` fetched,
  with the log4j2.xml LocalStack would write beside it;
- the Java it runs DynamoDB Local with ("21" to LocalStack): a link to this machine's Java
  17+ (DynamoDB Local needs 17);
- the `ddb-local-loader` Java agent it always passes: a jar that does nothing (noop_agent.py).
"""

from __future__ import annotations

from pathlib import Path

from infra.local.dynamodb_local import DynamoDBLocalInstall, find_install, find_java
from infra.localstack.noop_agent import write_agent_jar

# LocalStack's "static libs" (packages installed at build time), under FILESYSTEM_ROOT.
STATIC_LIBS = Path("usr/lib/localstack")
DYNAMODB_LOCAL_DIR = STATIC_LIBS / "dynamodb-local" / "2"
JAVA_HOME_LINK = STATIC_LIBS / "java" / "21"
AGENT_JAR = "ddb-local-loader-0.1.jar"

# What LocalStack's DynamoDB Local installer writes (warnings only, on stdout).
LOG4J2_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="Console" target="SYSTEM_OUT">
      <PatternLayout pattern="%d{HH:mm:ss.SSS} [%t] %-5level %logger{36} - %msg%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="WARN">
      <AppenderRef ref="Console"/>
    </Root>
  </Loggers>
</Configuration>
"""


def java_home(java: str) -> Path:
    """The JAVA_HOME of a `java` executable (through the links Debian's alternatives make)."""
    return Path(java).resolve().parents[1]


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        if link.is_symlink() and link.readlink() == target:
            return
        link.unlink()
    link.symlink_to(target)


def place(root: Path, dynamodb_local: DynamoDBLocalInstall, java_home_dir: Path) -> None:
    """Put DynamoDB Local, its log configuration, the agent and Java under `root`."""
    dynamodb_dir = root / DYNAMODB_LOCAL_DIR
    dynamodb_dir.mkdir(parents=True, exist_ok=True)
    # The jar's manifest finds its libraries (and log4j2.xml) relative to the link's folder.
    _link(dynamodb_dir / "DynamoDBLocal.jar", dynamodb_local.jar)
    _link(dynamodb_dir / "DynamoDBLocal_lib", dynamodb_local.native_libs)
    (dynamodb_dir / "log4j2.xml").write_text(LOG4J2_XML)
    write_agent_jar(dynamodb_dir / AGENT_JAR)
    _link(root / JAVA_HOME_LINK, java_home_dir)


def place_from_this_machine(root: Path) -> None:
    """`place` with the jar from .cache/dynamodb-local and the Java on PATH; exits saying
    what is missing (Java 17+, or the jar: `make dynamodb-local`)."""
    place(root, find_install(), java_home(find_java()))
