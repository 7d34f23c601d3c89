-- Claim per webhook, so that one webhook whose receiver hangs cannot take
-- every delivery slot: the claim now walks the due instances webhook by
-- webhook, and counts each webhook's running instances against a cap.
-- depends: 0004_notification_email

DROP FUNCTION IF EXISTS webhooks.claim(integer, interval, uuid);

DROP INDEX webhooks.instance_due_at_idx;

CREATE INDEX instance_webhook_due_at_idx
    ON webhooks.instance (webhook_id, due_at)
    WHERE due_at IS NOT NULL;

CREATE INDEX instance_running_idx
    ON webhooks.instance (webhook_id)
    WHERE state = 'running';
