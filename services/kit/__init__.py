"""The plumbing every agency service shares: settings, database and migrations, broker,
outbox relay, inbox, consumer with bounded retries and dead-lettering, telemetry."""
