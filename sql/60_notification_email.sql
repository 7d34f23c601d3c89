-- Operator e-mail: which notifications still need a mail, claimed like
-- instances so that two relays never mail the same notification at once.


-- claim_notification_emails: take up to p_limit notifications whose mail is
-- due, from the last p_window, for one mail try each. A claimed row is not
-- due again for p_lease times its number of tries, so a failing mail server
-- is retried with growing pauses, p_max_attempts times at most.
CREATE OR REPLACE FUNCTION webhooks.claim_notification_emails(
    p_limit integer,
    p_lease interval,
    p_window interval,
    p_max_attempts integer
)
RETURNS TABLE (
    id           uuid,
    kind         text,
    webhook_id   uuid,
    webhook_name text,
    message      text,
    created_at   timestamptz
)
LANGUAGE sql
AS $$
    WITH due AS MATERIALIZED (
        SELECT n.id
        FROM webhooks.notification AS n
        WHERE n.emailed_at IS NULL
          AND n.created_at > now() - p_window
          AND n.email_attempts < p_max_attempts
          AND (n.email_next_at IS NULL OR n.email_next_at <= now())
        ORDER BY n.created_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE webhooks.notification AS n
    SET email_attempts = n.email_attempts + 1,
        email_next_at = now() + p_lease * (n.email_attempts + 1)
    FROM due
    WHERE n.id = due.id
    RETURNING n.id, n.kind, n.webhook_id, n.webhook_name, n.message,
              n.created_at;
$$;


-- mark_notification_emailed: record that the operators got the mail.
CREATE OR REPLACE FUNCTION webhooks.mark_notification_emailed(p_id uuid)
RETURNS void
LANGUAGE sql
AS $$
    UPDATE webhooks.notification
    SET emailed_at = now()
    WHERE id = p_id;
$$;
