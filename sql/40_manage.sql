-- Management: the state changes an operator makes through the API or the
-- CLI, and the relay's configuration.


-- set_webhook_enabled: enable or disable a webhook. Disabling holds its
-- pending instances; enabling resets successive_failure_count, clears the
-- auto-disable mark and makes the held instances due now.
--
-- Locks the webhook row, then its instances (the same order as
-- record_executions). Raises WH404 when the webhook does not exist. Returns
-- the number of instances held or released.
CREATE OR REPLACE FUNCTION webhooks.set_webhook_enabled(
    p_webhook_id uuid,
    p_enabled boolean
)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_was_enabled boolean;
BEGIN
    SELECT w.enabled
    INTO v_was_enabled
    FROM webhooks.webhook AS w
    WHERE w.id = p_webhook_id
    FOR NO KEY UPDATE;

    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'WH404',
            MESSAGE = format('Webhook %s not found.', p_webhook_id);
    END IF;

    IF v_was_enabled = p_enabled THEN
        RETURN 0;
    END IF;

    IF p_enabled THEN
        UPDATE webhooks.webhook AS w
        SET enabled = true,
            successive_failure_count = 0,
            auto_disabled_at = NULL
        WHERE w.id = p_webhook_id;

        RETURN webhooks.release_instances(p_webhook_id);
    END IF;

    UPDATE webhooks.webhook AS w
    SET enabled = false
    WHERE w.id = p_webhook_id;

    RETURN webhooks.hold_instances(p_webhook_id);
END;
$$;


-- cancel_instance: cancel the remaining retries of a failed instance.
--
-- Allowed only in 'failed' with retries left. Raises WH404 when the
-- instance does not exist, WH409 when its state does not allow it.
CREATE OR REPLACE FUNCTION webhooks.cancel_instance(p_instance_id uuid)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_state     text;
    v_remaining integer;
BEGIN
    UPDATE webhooks.instance AS i
    SET state = 'canceled',
        remaining_retries = 0,
        due_at = NULL,
        held = false,
        updated_at = now()
    WHERE i.id = p_instance_id
      AND i.state = 'failed'
      AND i.remaining_retries > 0;

    IF FOUND THEN
        RETURN;
    END IF;

    SELECT i.state, i.remaining_retries
    INTO v_state, v_remaining
    FROM webhooks.instance AS i
    WHERE i.id = p_instance_id;

    IF v_state IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'WH404',
            MESSAGE = format('Webhook instance %s not found.', p_instance_id);
    END IF;

    RAISE EXCEPTION USING
        ERRCODE = 'WH409',
        MESSAGE = format('Webhook instance %s is %s with %s retries left; '
                         'only a failed instance with retries left can be '
                         'canceled.', p_instance_id, v_state, v_remaining);
END;
$$;


-- configure: store the relay's retry schedule and disable threshold, which
-- emit and record_executions read. Writes only when something changed, so
-- starting many relays with the same settings costs no row churn.
CREATE OR REPLACE FUNCTION webhooks.configure(
    p_retry_delays interval[],
    p_disable_after integer
)
RETURNS void
LANGUAGE sql
AS $$
    UPDATE webhooks.setting AS s
    SET retry_delays = p_retry_delays,
        disable_after = p_disable_after,
        updated_at = now()
    WHERE s.retry_delays IS DISTINCT FROM p_retry_delays
       OR s.disable_after IS DISTINCT FROM p_disable_after;
$$;
