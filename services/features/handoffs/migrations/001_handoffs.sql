-- Every handoff this service knows of, as built from events (its own and other agencies').
CREATE TABLE handoffs (
    referral_id         uuid PRIMARY KEY,
    kind                text NOT NULL,
    sender              text NOT NULL,
    receiver            text NOT NULL,
    subject             text NOT NULL,
    state               text NOT NULL,
    legal_basis         jsonb NOT NULL,
    reason              text,
    parent_referral_id  uuid,
    respond_by          timestamptz NOT NULL,
    requested_at        timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    last_event_id       uuid NOT NULL,
    caseworker          text,
    outcome             text,
    protected_identity  boolean NOT NULL DEFAULT false
);
CREATE INDEX handoffs_receiver ON handoffs (receiver, state);
CREATE INDEX handoffs_sender ON handoffs (sender, state);
CREATE INDEX handoffs_subject ON handoffs (subject);
CREATE INDEX handoffs_parent ON handoffs (parent_referral_id);
CREATE INDEX handoffs_awaiting_answer ON handoffs (respond_by) WHERE state IN ('requested', 'received');

-- The timeline: every accepted handoff event, in the order this service applied it.
CREATE TABLE handoff_events (
    seq           bigserial PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE,
    referral_id   uuid NOT NULL,
    subject       text NOT NULL,
    event_type    text NOT NULL,
    producer      text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    causation_id  uuid,
    state_after   text NOT NULL,
    code          text,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX handoff_events_subject ON handoff_events (subject, seq);
CREATE INDEX handoff_events_referral ON handoff_events (referral_id, seq);

-- What each hosted agency (and its assigned caseworker) is told; streamed over SSE.
CREATE TABLE notifications (
    id           bigserial PRIMARY KEY,
    agency       text NOT NULL,
    caseworker   text,
    referral_id  uuid NOT NULL,
    event_id     uuid NOT NULL,
    event_type   text NOT NULL,
    state        text NOT NULL,
    subject      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agency, event_id)
);
CREATE INDEX notifications_agency ON notifications (agency, id);
