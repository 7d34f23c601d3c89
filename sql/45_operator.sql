-- Operator actions on many instances at once, and signing secret rotation.


-- queue_retries: queue every failed or canceled instance of a webhook that
-- matches the instance list's filters for an immediate try by the relay.
-- Queued instances keep their remaining retries. On a disabled webhook they
-- are held and go out when it is enabled again.
--
-- Parameters: p_states, states to match (NULL for any; only 'failed' and
-- 'canceled' can match); p_event_code, p_created_from, p_created_to, as in
-- the list (NULL for any). Locks the webhook row, then the instances.
-- Raises WH404 when the webhook does not exist. Returns the number queued.
CREATE OR REPLACE FUNCTION webhooks.queue_retries(
    p_webhook_id uuid,
    p_states text[],
    p_event_code text,
    p_created_from timestamptz,
    p_created_to timestamptz
)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_enabled boolean;
    v_count   integer;
BEGIN
    SELECT w.enabled
    INTO v_enabled
    FROM webhooks.webhook AS w
    WHERE w.id = p_webhook_id
    FOR NO KEY UPDATE;

    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'WH404',
            MESSAGE = format('Webhook %s not found.', p_webhook_id);
    END IF;

    UPDATE webhooks.instance AS i
    SET manual_retry = true,
        due_at = CASE WHEN v_enabled THEN now() END,
        held = NOT v_enabled,
        updated_at = now()
    WHERE i.webhook_id = p_webhook_id
      AND i.state IN ('failed', 'canceled')
      AND (p_states IS NULL OR i.state = ANY (p_states))
      AND (p_event_code IS NULL OR i.event_code = p_event_code)
      AND (p_created_from IS NULL OR i.created_at >= p_created_from)
      AND (p_created_to IS NULL OR i.created_at <= p_created_to);

    GET DIAGNOSTICS v_count = ROW_COUNT;

    IF v_count > 0 AND v_enabled THEN
        PERFORM webhooks.wake_relays();
    END IF;

    RETURN v_count;
END;
$$;


-- recover_events: create an instance for every stored event since p_since
-- that the webhook listens to and has no instance for yet, such as the
-- events emitted while it was disabled. The relay delivers them; on a
-- disabled webhook they are held until it is enabled.
--
-- Raises WH404 when the webhook does not exist. Returns the number created.
CREATE OR REPLACE FUNCTION webhooks.recover_events(
    p_webhook_id uuid,
    p_since timestamptz
)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_webhook webhooks.webhook;
    v_count   integer;
BEGIN
    SELECT w.*
    INTO v_webhook
    FROM webhooks.webhook AS w
    WHERE w.id = p_webhook_id
    FOR NO KEY UPDATE;

    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'WH404',
            MESSAGE = format('Webhook %s not found.', p_webhook_id);
    END IF;

    INSERT INTO webhooks.instance (
        webhook_id, event_id, event_code, remaining_retries, due_at, held
    )
    SELECT
        v_webhook.id,
        e.id,
        e.event_code,
        coalesce(array_length(s.retry_delays, 1), 0),
        CASE WHEN v_webhook.enabled THEN now() END,
        NOT v_webhook.enabled
    FROM webhooks.outbox AS e
    CROSS JOIN webhooks.setting AS s
    WHERE e.created_at >= p_since
      AND e.event_code = ANY (v_webhook.event_codes)
      AND NOT EXISTS (
          SELECT 1
          FROM webhooks.instance AS i
          WHERE i.event_id = e.id
            AND i.webhook_id = v_webhook.id
      )
    ORDER BY e.id;

    GET DIAGNOSTICS v_count = ROW_COUNT;

    IF v_count > 0 AND v_webhook.enabled THEN
        PERFORM webhooks.wake_relays();
    END IF;

    RETURN v_count;
END;
$$;


-- rotate_secret: make p_secret the webhook's signing secret. The secret it
-- replaces keeps signing, next to the new one, for p_grace, so receivers can
-- switch without rejecting deliveries. A second rotation within the grace
-- period drops the oldest secret.
--
-- Raises WH404 when the webhook does not exist.
CREATE OR REPLACE FUNCTION webhooks.rotate_secret(
    p_webhook_id uuid,
    p_secret text,
    p_grace interval
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE webhooks.webhook AS w
    SET previous_secret = w.secret,
        previous_secret_expires_at = now() + p_grace,
        secret = p_secret
    WHERE w.id = p_webhook_id;

    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'WH404',
            MESSAGE = format('Webhook %s not found.', p_webhook_id);
    END IF;
END;
$$;
