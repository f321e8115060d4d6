"""Fetch the Apache Kafka broker classpath from Maven Central with Maven.

No Kafka distribution tarball can be downloaded on these machines, but Maven
Central serves the broker jars; ``mvn dependency:copy-dependencies`` on a tiny
POM turns them into a ``lib/`` directory that ``java -cp 'lib/*' kafka.Kafka``
can run.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Newest Kafka 4.x that Maven Central served when this was written.
KAFKA_VERSION = "4.4.0"
#: The log4j version that kafka-server 4.4.0 itself depends on (``mvn
#: dependency:tree``); the SLF4J binding must match it. Kafka 4.4 still uses
#: SLF4J 1.7, hence ``log4j-slf4j-impl`` rather than ``log4j-slf4j2-impl``.
LOG4J_VERSION = "2.25.5"
#: Pinned so that a newer Maven's default plugin version cannot change the result.
DEPENDENCY_PLUGIN_VERSION = "3.8.1"

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Ignored by git (see .gitignore); survives between runs on the same machine.
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache"

_MARKER = "COMPLETE"
_MVN_TIMEOUT_S = 20 * 60

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>samverkan.deploy</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version>
    </dependency>
    <!-- The Kafka POM ships no SLF4J binding; without one the broker logs nothing. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>{plugin}</version>
      </plugin>
    </plugins>
  </build>
</project>
"""


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    # Parallel test processes may all want the jars at once; one fetches, the
    # others wait and then find the marker.
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch_jars(
    cache_dir: Path = DEFAULT_CACHE_DIR,
    version: str = KAFKA_VERSION,
    log4j_version: str = LOG4J_VERSION,
) -> Path:
    """Make sure the Kafka broker jars are in ``cache_dir`` and return their ``lib`` dir.

    Idempotent: a marker file written after a successful copy short-circuits
    later calls. The copy goes to a staging directory first, so an interrupted
    fetch never looks complete.
    """
    home = cache_dir / f"kafka-{version}"
    lib = home / "lib"
    if (home / _MARKER).is_file():
        return lib
    home.mkdir(parents=True, exist_ok=True)
    with _exclusive(home / ".lock"):
        if (home / _MARKER).is_file():
            return lib
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError(
                "Maven ('mvn') is not on PATH; it is needed once to fetch the Kafka "
                "broker jars (e.g. apt-get install -y maven)."
            )
        pom = home / "pom.xml"
        pom.write_text(
            _POM.format(kafka=version, log4j=log4j_version, plugin=DEPENDENCY_PLUGIN_VERSION)
        )
        staging = home / "lib.partial"
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ],
            cwd=home,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_MVN_TIMEOUT_S,
            check=False,
        )
        broker_jar = staging / f"kafka_2.13-{version}.jar"
        if result.returncode != 0 or not broker_jar.is_file():
            output = (result.stdout + result.stderr).strip().splitlines()[-30:]
            raise RuntimeError(
                f"mvn could not fetch Kafka {version} (exit {result.returncode}):\n"
                + "\n".join(output)
            )
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
        jars = sorted(path.name for path in lib.glob("*.jar"))
        (home / _MARKER).write_text("\n".join(jars) + "\n")
    return lib
