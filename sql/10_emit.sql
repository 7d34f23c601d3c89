-- Emit: how Streto publishes an event inside its own transaction.
--
-- Custom SQLSTATEs raised by the functions in sql/ (the API maps them to HTTP
-- statuses in api/errors.py):
--   WH404  the instance or webhook does not exist
--   WH409  the instance is not in a state that allows the action
--   WH422  invalid input (unknown event code, payload not an object or
--          over 256 KiB)


-- wake_relays: send one NOTIFY on channel webhooks_wakeup, at most once per
-- setting.wakeup_interval across all emitting transactions.
--
-- A NOTIFY takes a cluster-wide lock at commit that serialises every
-- notifying transaction, so only the transaction that wins the throttle row
-- notifies. The row is taken with SKIP LOCKED: a transaction that finds it
-- locked never waits, because the holder is about to notify anyway. Relays
-- poll shortly after each wake-up, which picks up the events whose
-- transactions skipped the notification.
CREATE OR REPLACE FUNCTION webhooks.wake_relays()
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_interval interval;
BEGIN
    SELECT s.wakeup_interval
    INTO v_interval
    FROM webhooks.setting AS s;

    PERFORM 1
    FROM webhooks.wakeup AS w
    WHERE w.notified_at < clock_timestamp() - v_interval
    FOR UPDATE SKIP LOCKED;

    IF FOUND THEN
        UPDATE webhooks.wakeup
        SET notified_at = clock_timestamp();

        PERFORM pg_notify('webhooks_wakeup', '');
    END IF;
END;
$$;


-- fan_out: trigger on webhooks.outbox. Validate the event and create one
-- instance for each enabled webhook listening to its code.
--
-- Raises WH422 for an unknown event code, a payload that is not a JSON
-- object, or a payload over 256 KiB of JSON text, which rolls back the
-- caller's statement. The size limit keeps each delivery request within
-- what common receivers accept, and the outbox, which keeps events for the
-- event retention period, small.
CREATE OR REPLACE FUNCTION webhooks.fan_out()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_count          integer;
    v_payload_bytes  integer;
    v_max_payload    CONSTANT integer := 262144;
BEGIN
    IF NOT EXISTS (
        SELECT 1
        FROM webhooks.event_type AS t
        WHERE t.code = NEW.event_code
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'WH422',
            MESSAGE = format('Unknown event code %L.', NEW.event_code),
            HINT = 'Use a code listed in webhooks.event_type; adding an '
                   'event type takes a migration.';
    END IF;

    IF jsonb_typeof(NEW.payload) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'WH422',
            MESSAGE = format('The payload of event %s must be a JSON object, '
                             'not %s.', NEW.event_code,
                             coalesce(jsonb_typeof(NEW.payload), 'null')),
            HINT = 'Wrap the value in an object.';
    END IF;

    v_payload_bytes := octet_length(NEW.payload::text);
    IF v_payload_bytes > v_max_payload THEN
        RAISE EXCEPTION USING
            ERRCODE = 'WH422',
            MESSAGE = format('The payload of event %s is %s bytes of JSON; '
                             'the limit is %s bytes (256 KiB).',
                             NEW.event_code, v_payload_bytes, v_max_payload),
            HINT = 'Send an id that the receiver can look the rest up with.';
    END IF;

    INSERT INTO webhooks.instance (
        webhook_id, event_id, event_code, created_at, remaining_retries, due_at
    )
    SELECT
        w.id,
        NEW.id,
        NEW.event_code,
        NEW.created_at,
        coalesce(array_length(s.retry_delays, 1), 0),
        now()
    FROM webhooks.webhook AS w
    CROSS JOIN webhooks.setting AS s
    WHERE w.enabled
      AND w.event_codes @> ARRAY[NEW.event_code];

    GET DIAGNOSTICS v_count = ROW_COUNT;

    IF v_count > 0 THEN
        PERFORM webhooks.wake_relays();
    END IF;

    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER outbox_fan_out
    AFTER INSERT ON webhooks.outbox
    FOR EACH ROW
    EXECUTE FUNCTION webhooks.fan_out();


-- emit: store an event in the outbox and return its id. The same as
-- INSERT INTO webhooks.outbox (event_code, payload), which also fans out.
--
-- Parameters: p_event_code, a code from webhooks.event_type; p_payload, a
-- JSON object. Raises WH422 (see fan_out).
CREATE OR REPLACE FUNCTION webhooks.emit(p_event_code text, p_payload jsonb)
RETURNS bigint
LANGUAGE sql
AS $$
    INSERT INTO webhooks.outbox (event_code, payload)
    VALUES (p_event_code, p_payload)
    RETURNING id;
$$;
