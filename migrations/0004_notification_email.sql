-- Track the e-mail sent to operators for each notification, so a relay can
-- retry a mail server that failed without sending a mail twice.
-- depends: 0003_manual_retry

ALTER TABLE webhooks.notification
    ADD COLUMN email_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN email_next_at timestamptz;

CREATE INDEX notification_email_pending_idx
    ON webhooks.notification (created_at)
    WHERE emailed_at IS NULL;
