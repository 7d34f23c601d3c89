-- The audit trail: who changed each webhook, and how. Entries have no
-- foreign key to the webhook, so they outlive its deletion.
-- depends: 0005_claim_per_webhook

CREATE TABLE webhooks.audit_entry (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Orders the entries: created_at is the start of the transaction, and
    -- several entries can share a millisecond.
    position   bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    webhook_id uuid NOT NULL,
    action     text NOT NULL,
    author     text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_entry_webhook_position_idx
    ON webhooks.audit_entry (webhook_id, position);
