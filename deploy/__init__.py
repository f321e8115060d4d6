"""Local infrastructure for Samverkan: a real Kafka broker and PostgreSQL server.

No Docker engine is needed: Kafka runs from Maven Central jars on the local
JVM, PostgreSQL from the distribution's binaries. See ``python -m deploy --help``.
"""

from .kafka import KafkaServer, fetch_jars
from .ports import free_port, free_ports
from .postgres import PostgresServer, ensure_binaries
from .stack import Stack
from .topics import ensure_topics

__all__ = [
    "KafkaServer",
    "PostgresServer",
    "Stack",
    "ensure_binaries",
    "ensure_topics",
    "fetch_jars",
    "free_port",
    "free_ports",
]
