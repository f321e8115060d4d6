-- Sharing under a consent stops when the consent is withdrawn or expires, even for events
-- already staged: the relay withholds them instead of publishing.
ALTER TABLE outbox
    ADD COLUMN event_type text,
    ADD COLUMN consent_id uuid,
    ADD COLUMN withheld_at timestamptz,
    ADD COLUMN withheld_reason text;
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL AND withheld_at IS NULL;
