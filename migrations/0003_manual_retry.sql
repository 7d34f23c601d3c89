-- Mark instances that an operator queued for a retry, so that the claim
-- leaves their remaining retries alone, and store every timestamp with the
-- millisecond precision that the API shows, so that a date read from the API
-- works as an exact filter bound.
-- depends: 0002_event_catalog

ALTER TABLE webhooks.instance
    ADD COLUMN manual_retry boolean NOT NULL DEFAULT false;

ALTER TABLE webhooks.outbox
    ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', now());

ALTER TABLE webhooks.instance
    ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', now());

ALTER TABLE webhooks.webhook
    ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', now());

ALTER TABLE webhooks.execution
    ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', now());

ALTER TABLE webhooks.notification
    ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', now());
