-- Recording: store the outcome of HTTP tries and decide what comes next
-- (success, a retry, the final failure), count successive failures per
-- webhook, warn and auto-disable. Every time decision uses the database
-- clock.


-- retry_delay: the delay before the next automatic retry of an instance that
-- has p_remaining retries left, with +/-10 % jitter. A Retry-After of
-- p_retry_after seconds can postpone it, up to the longest configured delay.
CREATE OR REPLACE FUNCTION webhooks.retry_delay(
    p_remaining integer,
    p_retry_after double precision
)
RETURNS interval
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    v_delays interval[];
    v_count  integer;
    v_index  integer;
    v_delay  interval;
    v_max    interval;
BEGIN
    SELECT s.retry_delays
    INTO v_delays
    FROM webhooks.setting AS s;

    v_count := coalesce(array_length(v_delays, 1), 0);
    IF v_count = 0 THEN
        RETURN interval '0';
    END IF;

    -- With 8 delays and 8 retries left, the first retry is next: index 1.
    -- The schedule may have been shortened since the instance was created.
    v_index := greatest(1, least(v_count, v_count - p_remaining + 1));
    v_delay := v_delays[v_index] * (0.9 + random() * 0.2);

    IF p_retry_after IS NOT NULL THEN
        SELECT max(d) INTO v_max FROM unnest(v_delays) AS d;
        v_delay := greatest(
            v_delay,
            least(make_interval(secs => p_retry_after), v_max)
        );
    END IF;

    RETURN v_delay;
END;
$$;


-- hold_instances: stop scheduling the pending instances of a webhook that is
-- being disabled. They keep their state and retries, and release_instances
-- makes them due again. The caller holds the webhook row lock.
CREATE OR REPLACE FUNCTION webhooks.hold_instances(p_webhook_id uuid)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE webhooks.instance AS i
    SET held = true,
        due_at = NULL
    WHERE i.webhook_id = p_webhook_id
      AND i.state IN ('new', 'failed')
      AND i.due_at IS NOT NULL;

    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;


-- release_instances: make the held instances of a re-enabled webhook due now.
CREATE OR REPLACE FUNCTION webhooks.release_instances(p_webhook_id uuid)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE webhooks.instance AS i
    SET held = false,
        due_at = now()
    WHERE i.webhook_id = p_webhook_id
      AND i.held;

    GET DIAGNOSTICS v_count = ROW_COUNT;

    IF v_count > 0 THEN
        PERFORM webhooks.wake_relays();
    END IF;

    RETURN v_count;
END;
$$;


-- notify_operators: store an operator notification about a webhook.
CREATE OR REPLACE FUNCTION webhooks.notify_operators(
    p_kind text,
    p_webhook webhooks.webhook,
    p_message text
)
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO webhooks.notification (kind, webhook_id, webhook_name, message)
    VALUES (p_kind, p_webhook.id, p_webhook.name, p_message);
$$;


-- record_executions: record a batch of finished tries, one JSON object each:
--   instanceId (uuid), success (bool), manual (bool, execute now),
--   message (text), durationMs (int), hasResponse (bool),
--   responseStatus (int), responseHeaders (object), responseBody (any JSON),
--   retryAfterSeconds (number, from a 429 or 503).
--
-- A result counts only while its instance is still running under p_token;
-- a late result, after the lease ran out and another claim took the
-- instance, or after the webhook was deleted, is dropped and not returned.
--
-- Locks the webhooks of the batch in id order before any instance, the same
-- order as the API's enable and disable, so concurrent batches cannot
-- deadlock. Disabling a webhook after failures also stores an audit entry
-- with author 'relay'.
--
-- Returns one row per recorded result: the instance's new state, remaining
-- retries and due time, the webhook's successive failure count, and the
-- notification kind stored because of it (NULL for none).
CREATE OR REPLACE FUNCTION webhooks.record_executions(
    p_token uuid,
    p_results jsonb
)
RETURNS TABLE (
    instance_id       uuid,
    webhook_id        uuid,
    state             text,
    remaining_retries integer,
    due_at            timestamptz,
    failure_count     integer,
    notification      text
)
LANGUAGE plpgsql
-- The planner's cost estimates grow with the instance table, and past
-- jit_above_cost it compiled the statements on every call: 25 ms at
-- 100,000 instances, more than the work itself.
SET jit = off
AS $$
DECLARE
    v_result        record;
    v_webhook       webhooks.webhook;
    v_disable_after integer;
    v_disable       boolean;
    v_state         text;
    v_due_at        timestamptz;
    v_held          boolean;
    v_notification  text;
BEGIN
    SELECT s.disable_after
    INTO v_disable_after
    FROM webhooks.setting AS s;

    -- The array form looks the batch's instances up by primary key. As a
    -- semi-join, the planner scanned every instance of each webhook.
    PERFORM 1
    FROM webhooks.webhook AS w
    WHERE w.id IN (
        SELECT i.webhook_id
        FROM webhooks.instance AS i
        WHERE i.id = ANY (ARRAY(
            SELECT (r ->> 'instanceId')::uuid
            FROM jsonb_array_elements(p_results) AS r
        ))
    )
    ORDER BY w.id
    FOR NO KEY UPDATE;

    FOR v_result IN
        SELECT
            i.id AS instance_id,
            i.webhook_id,
            i.remaining_retries,
            (r ->> 'success')::boolean AS success,
            coalesce((r ->> 'manual')::boolean, false) AS manual,
            r ->> 'message' AS message,
            (r ->> 'durationMs')::integer AS duration_ms,
            coalesce((r ->> 'hasResponse')::boolean, false) AS has_response,
            (r ->> 'responseStatus')::integer AS response_status,
            r -> 'responseHeaders' AS response_headers,
            r -> 'responseBody' AS response_body,
            (r ->> 'retryAfterSeconds')::double precision AS retry_after
        FROM jsonb_array_elements(p_results) AS r
        JOIN webhooks.instance AS i
          ON i.id = (r ->> 'instanceId')::uuid
        WHERE i.state = 'running'
          AND i.lease_token = p_token
        ORDER BY i.webhook_id, i.id
    LOOP
        v_notification := NULL;

        INSERT INTO webhooks.execution (
            instance_id, created_at, success, manual, message,
            response_status, response_headers, response_body, duration_ms
        )
        VALUES (
            v_result.instance_id,
            date_trunc('milliseconds',
                clock_timestamp()
                - make_interval(secs => coalesce(v_result.duration_ms, 0)
                                        / 1000.0)),
            v_result.success,
            v_result.manual,
            v_result.message,
            CASE WHEN v_result.has_response THEN v_result.response_status END,
            CASE WHEN v_result.has_response THEN v_result.response_headers END,
            CASE
                WHEN v_result.has_response
                THEN coalesce(v_result.response_body, 'null'::jsonb)
            END,
            v_result.duration_ms
        );

        SELECT w.*
        INTO v_webhook
        FROM webhooks.webhook AS w
        WHERE w.id = v_result.webhook_id;

        IF v_result.success THEN
            IF v_webhook.successive_failure_count <> 0
               OR v_webhook.warned_at IS NOT NULL THEN
                UPDATE webhooks.webhook AS w
                SET successive_failure_count = 0,
                    warned_at = NULL
                WHERE w.id = v_webhook.id;
            END IF;

            -- A recovery is news only after a failing or disabled warning.
            IF v_webhook.warned_at IS NOT NULL THEN
                v_notification := 'webhook.recovered';
                PERFORM webhooks.notify_operators(
                    v_notification, v_webhook, v_result.message);
            END IF;

            v_state := 'success';
            v_due_at := NULL;
            v_held := false;
        ELSE
            UPDATE webhooks.webhook AS w
            SET successive_failure_count = w.successive_failure_count + 1
            WHERE w.id = v_webhook.id
            RETURNING w.* INTO v_webhook;

            v_disable := v_webhook.enabled
                AND (v_webhook.successive_failure_count >= v_disable_after
                     OR v_result.response_status = 410);

            IF v_disable THEN
                UPDATE webhooks.webhook AS w
                SET enabled = false,
                    auto_disabled_at = now(),
                    warned_at = now()
                WHERE w.id = v_webhook.id
                RETURNING w.* INTO v_webhook;

                PERFORM webhooks.hold_instances(v_webhook.id);
                PERFORM webhooks.record_audit(
                    v_webhook.id, 'webhook.disabled', 'relay',
                    jsonb_build_object(
                        'reason', v_result.message,
                        'successiveFailureCount',
                        v_webhook.successive_failure_count));
                v_notification := 'webhook.disabled';
                PERFORM webhooks.notify_operators(
                    v_notification, v_webhook, v_result.message);
            ELSIF v_webhook.successive_failure_count
                      >= ceil(v_disable_after / 2.0)
                  AND v_webhook.warned_at IS NULL
                  AND v_webhook.enabled THEN
                UPDATE webhooks.webhook AS w
                SET warned_at = now()
                WHERE w.id = v_webhook.id;

                v_notification := 'webhook.failing';
                PERFORM webhooks.notify_operators(
                    v_notification, v_webhook, v_result.message);
            END IF;

            v_state := 'failed';
            v_held := false;
            v_due_at := NULL;
            IF v_result.remaining_retries > 0 THEN
                IF v_webhook.enabled THEN
                    v_due_at := now() + webhooks.retry_delay(
                        v_result.remaining_retries, v_result.retry_after);
                ELSE
                    v_held := true;
                END IF;
            END IF;
        END IF;

        UPDATE webhooks.instance AS i
        SET state = v_state,
            due_at = v_due_at,
            held = v_held,
            lease_token = NULL,
            execution_count = i.execution_count + 1,
            updated_at = now()
        WHERE i.id = v_result.instance_id;

        instance_id := v_result.instance_id;
        webhook_id := v_result.webhook_id;
        state := v_state;
        remaining_retries := v_result.remaining_retries;
        due_at := v_due_at;
        failure_count := coalesce(v_webhook.successive_failure_count, 0);
        notification := v_notification;
        RETURN NEXT;
    END LOOP;
END;
$$;
