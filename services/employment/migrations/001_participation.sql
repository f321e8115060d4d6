-- ESF participation at the agencies this service hosts; each change is also an event.
CREATE TABLE participations (
    participation_id  uuid PRIMARY KEY,
    agency            text NOT NULL,
    subject           text NOT NULL,
    gender            text NOT NULL,
    age_band          text NOT NULL,
    municipality      text NOT NULL,
    started_on        date NOT NULL,
    exited_on         date CHECK (exited_on >= started_on),
    exit_outcome      text,
    last_event_id     uuid NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
-- One open participation per person and agency.
CREATE UNIQUE INDEX participations_open ON participations (agency, subject) WHERE exited_on IS NULL;

CREATE TABLE participation_follow_ups (
    participation_id   uuid NOT NULL REFERENCES participations,
    months_after_exit  integer NOT NULL,
    outcome            text NOT NULL,
    recorded_at        timestamptz NOT NULL,
    PRIMARY KEY (participation_id, months_after_exit)
);
