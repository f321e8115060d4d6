"""Benchmarks of Samverkan on the local stack: handoff latency, service throughput against the
raw Kafka client, the audit log at size, and the services' memory. `python -m bench [--quick]`."""
