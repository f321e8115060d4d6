-- The personnummer behind a pseudonym, for subjects this agency registered itself. It never
-- leaves this database: events carry only the pseudonym.
CREATE TABLE subjects (
    subject             text PRIMARY KEY,
    personnummer        text NOT NULL UNIQUE,
    protected_identity  boolean NOT NULL DEFAULT false,
    registered_by       text NOT NULL,
    registered_at       timestamptz NOT NULL DEFAULT now()
);
