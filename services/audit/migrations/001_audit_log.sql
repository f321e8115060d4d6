-- The audit log: every event on the bus, exactly as received, in one append-only sequence.
-- The hashes cover seq, recorded_at, topic, partition, offset and the event bytes (see
-- services/audit/domain.py). The columns after chain_hash only index the event for queries;
-- a trigger derives them from the event bytes on every insert and update, so they can never
-- say something the hashed bytes do not.
CREATE TABLE audit_entries (
    seq                 bigint PRIMARY KEY CHECK (seq >= 0),
    recorded_at         timestamptz NOT NULL,
    topic               text NOT NULL,
    partition           integer NOT NULL,
    "offset"            bigint NOT NULL,
    event               bytea NOT NULL,
    leaf_hash           bytea NOT NULL,
    chain_hash          bytea NOT NULL,
    event_id            uuid,
    event_type          text,
    occurred_at         timestamptz,
    producer            text,
    referral_id         uuid,
    subject             text,
    parent_referral_id  uuid,
    new_referral_id     uuid,
    accessor            text
);

CREATE FUNCTION audit_entry_fields() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    doc json := convert_from(NEW.event, 'UTF8')::json;
BEGIN
    NEW.event_id := doc ->> 'event_id';
    NEW.event_type := doc ->> 'event_type';
    NEW.occurred_at := doc ->> 'occurred_at';
    NEW.producer := doc ->> 'producer';
    NEW.referral_id := doc ->> 'correlation_id';
    NEW.subject := doc ->> 'subject';
    NEW.parent_referral_id := doc ->> 'parent_referral_id';
    NEW.new_referral_id := doc ->> 'new_referral_id';
    NEW.accessor := doc ->> 'accessor';
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_entry_fields BEFORE INSERT OR UPDATE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entry_fields();

CREATE UNIQUE INDEX audit_entries_event ON audit_entries (event_id);
-- Chain queries: a referral's events, and the links of redirects in both directions.
CREATE INDEX audit_entries_referral ON audit_entries (referral_id, seq);
CREATE INDEX audit_entries_parent ON audit_entries (parent_referral_id)
    WHERE parent_referral_id IS NOT NULL;
CREATE INDEX audit_entries_redirect ON audit_entries (new_referral_id)
    WHERE new_referral_id IS NOT NULL;
CREATE INDEX audit_entries_subject ON audit_entries (subject, event_type);
-- Log review: reads by subject, by accessor, by period.
CREATE INDEX audit_reads_subject ON audit_entries (subject, occurred_at)
    WHERE event_type = 'RecordAccessed';
CREATE INDEX audit_reads_accessor ON audit_entries (accessor, occurred_at)
    WHERE event_type = 'RecordAccessed';
CREATE INDEX audit_reads_period ON audit_entries (occurred_at)
    WHERE event_type = 'RecordAccessed';

-- Completed perfect subtrees of the Merkle tree (level >= 1; level 0 is leaf_hash above):
-- node (level, idx) covers entries [idx * 2^level, (idx + 1) * 2^level). They make inclusion
-- and consistency proofs O(log n); proofs are checked against a signed head, so a forged node
-- only makes a proof fail.
CREATE TABLE audit_tree_nodes (
    level  smallint NOT NULL CHECK (level > 0),
    idx    bigint NOT NULL CHECK (idx >= 0),
    hash   bytea NOT NULL,
    PRIMARY KEY (level, idx)
);

-- The one head row: where appending goes on from (locked by each append, which serialises
-- them), and the latest signed tree head.
CREATE TABLE audit_head (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    size        bigint NOT NULL,
    root_hash   bytea NOT NULL,
    chain_hash  bytea NOT NULL,
    frontier    bytea[] NOT NULL,
    signed_at   timestamptz,
    signature   bytea,
    public_key  bytea
);
INSERT INTO audit_head (size, root_hash, chain_hash, frontier)
VALUES (0, sha256(''::bytea), '\x0000000000000000000000000000000000000000000000000000000000000000', '{}');

-- Signed tree heads published over time: what auditors may have kept, and checkpoints that
-- let verification say where a rewritten stretch of the log lies.
CREATE TABLE audit_published_heads (
    size        bigint PRIMARY KEY,
    root_hash   bytea NOT NULL,
    signed_at   timestamptz NOT NULL,
    signature   bytea NOT NULL,
    public_key  bytea NOT NULL
);
