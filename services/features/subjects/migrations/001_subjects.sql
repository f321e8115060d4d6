-- The personnummer behind a pseudonym, for subjects this agency registered itself. It never
-- leaves this database: events carry only the pseudonym.
-- IF NOT EXISTS: databases made before the registry of persons was a feature of its own
-- have this table from the handoff loop's migrations.
CREATE TABLE IF NOT EXISTS subjects (
    subject             text PRIMARY KEY,
    personnummer        text NOT NULL UNIQUE,
    protected_identity  boolean NOT NULL DEFAULT false,
    registered_by       text NOT NULL,
    registered_at       timestamptz NOT NULL DEFAULT now()
);
