-- Audit trail: one row for each change to a webhook, with its author.


-- record_audit: store one audit entry and return its id.
--
-- Parameters: p_webhook_id, the webhook changed (it may be deleted since);
-- p_action, such as 'webhook.updated' (the list is in docs/security.md);
-- p_author, the operator name of the API token, or 'relay'; p_details, a
-- JSON object such as {"fields": ["url"]}. Runs in the caller's
-- transaction, so the entry commits or rolls back with the change.
CREATE OR REPLACE FUNCTION webhooks.record_audit(
    p_webhook_id uuid,
    p_action text,
    p_author text,
    p_details jsonb DEFAULT '{}'
)
RETURNS uuid
LANGUAGE sql
AS $$
    INSERT INTO webhooks.audit_entry (webhook_id, action, author, details)
    VALUES (p_webhook_id, p_action, p_author, coalesce(p_details, '{}'))
    RETURNING id;
$$;
