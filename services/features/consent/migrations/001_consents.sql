-- Consents recorded here and consents learnt from other agencies' events.
CREATE TABLE consents (
    consent_id       uuid PRIMARY KEY,
    subject          text NOT NULL,
    recorded_by      text NOT NULL,
    given_by         text NOT NULL,
    method           text NOT NULL,
    recipients       text[] NOT NULL,
    data_categories  text[] NOT NULL,
    valid_from       timestamptz NOT NULL,
    valid_until      timestamptz NOT NULL,
    withdrawn_at     timestamptz,
    recorded_at      timestamptz NOT NULL
);
CREATE INDEX consents_subject ON consents (subject);
