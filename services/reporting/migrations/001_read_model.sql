-- The reporting read model, built from events only. It holds pseudonymous subject references
-- and coded facts; no names, no personnummer, nothing but what the events carried.

-- ESF participants, from ParticipantEnrolled / ParticipantExited (either may come first).
CREATE TABLE participants (
    participation_id  uuid PRIMARY KEY,
    gender            text,
    age_band          text,
    municipality      text,
    started_on        date,
    exited_on         date,
    exit_outcome      text
);
CREATE INDEX participants_started ON participants (started_on);
CREATE INDEX participants_exited ON participants (exited_on);

CREATE TABLE follow_ups (
    participation_id   uuid NOT NULL,
    months_after_exit  integer NOT NULL,
    outcome            text NOT NULL,
    PRIMARY KEY (participation_id, months_after_exit)
);

-- Handoffs, from the event that opened each one.
CREATE TABLE referrals (
    referral_id   uuid PRIMARY KEY,
    kind          text NOT NULL,
    subject       text NOT NULL,
    basis_kind    text NOT NULL,
    requested_at  timestamptz NOT NULL
);
CREATE INDEX referrals_requested ON referrals (requested_at);

-- Every later event of a handoff: when it happened and its coded detail.
CREATE TABLE referral_events (
    event_id     uuid PRIMARY KEY,
    referral_id  uuid NOT NULL,
    event_type   text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    code         text
);
CREATE INDEX referral_events_referral ON referral_events (referral_id);
