-- Claims: how a relay process, or an operator's execute now, takes an
-- instance for one HTTP try.
--
-- A claim sets state 'running', a lease (due_at = now() + p_lease) and a
-- lease token, and commits at once: ownership after the claim is the token,
-- not a row lock, so no lock is held across the HTTP request. When a relay
-- dies, due_at passes and the normal claim path takes the instance again.


-- signing_secrets: the secrets that sign a request to this webhook now, the
-- current one first and the previous one while its rotation grace period
-- lasts.
CREATE OR REPLACE FUNCTION webhooks.signing_secrets(p_webhook webhooks.webhook)
RETURNS text[]
LANGUAGE sql
STABLE
AS $$
    SELECT CASE
        WHEN p_webhook.previous_secret IS NOT NULL
         AND p_webhook.previous_secret_expires_at > now()
        THEN ARRAY[p_webhook.secret, p_webhook.previous_secret]
        ELSE ARRAY[p_webhook.secret]
    END;
$$;


-- claim: take up to p_limit due instances of enabled webhooks for one relay
-- process, oldest due first, with at most p_max_per_webhook running at once
-- for any one webhook across all relays.
--
-- The cap keeps a webhook whose receiver hangs from filling every delivery
-- slot while other webhooks wait: the walk goes webhook by webhook through
-- the (webhook_id, due_at) index and takes from each only what its cap
-- leaves, so a long backlog of one webhook is never scanned past.
--
-- Parameters: p_limit, the batch size; p_lease, how long the claim lasts;
-- p_token, the token that record_executions must present;
-- p_max_per_webhook, the cap.
-- Locks the claimed instance rows until the caller commits; rows locked by
-- another claim are skipped, never waited for.
CREATE OR REPLACE FUNCTION webhooks.claim(
    p_limit integer,
    p_lease interval,
    p_token uuid,
    p_max_per_webhook integer
)
RETURNS TABLE (
    instance_id  uuid,
    webhook_id   uuid,
    event_code   text,
    payload      jsonb,
    retry_number integer,
    url          text,
    secrets      text[]
)
LANGUAGE sql
-- The planner's cost estimates grow with the instance table, and past
-- jit_above_cost it compiled the statements on every call: 25 ms at
-- 100,000 instances, more than the work itself.
SET jit = off
AS $$
    -- MATERIALIZED keeps the locking subquery from being re-run as the inner
    -- side of a join, which could claim more than p_limit rows. Every
    -- eligibility condition sits inside it, before the LIMIT.
    WITH due AS MATERIALIZED (
        SELECT picked.id
        FROM webhooks.webhook AS w
        CROSS JOIN LATERAL (
            SELECT count(*)::integer AS in_flight
            FROM webhooks.instance AS r
            WHERE r.webhook_id = w.id
              AND r.state = 'running'
              AND r.due_at > now()
        ) AS running
        CROSS JOIN LATERAL (
            SELECT i.id, i.due_at
            FROM webhooks.instance AS i
            WHERE i.webhook_id = w.id
              AND i.due_at IS NOT NULL
              AND i.due_at <= now()
            ORDER BY i.due_at
            LIMIT least(p_limit, greatest(p_max_per_webhook - running.in_flight, 0))
            FOR UPDATE OF i SKIP LOCKED
        ) AS picked
        WHERE w.enabled
        ORDER BY picked.due_at
        LIMIT p_limit
    ),
    claimed AS (
        UPDATE webhooks.instance AS i
        SET state = 'running',
            -- Starting an automatic retry uses one up. Taking back a running
            -- instance whose lease ran out does not, since its claim did,
            -- and neither does a retry that an operator queued.
            remaining_retries = CASE
                WHEN i.state = 'failed' AND NOT i.manual_retry
                THEN i.remaining_retries - 1
                ELSE i.remaining_retries
            END,
            manual_retry = false,
            due_at = now() + p_lease,
            lease_token = p_token,
            updated_at = now()
        -- The array form makes the planner look the few claimed ids up in
        -- the primary key. Joined to the CTE, whose size it cannot know, it
        -- chose a hash join over a scan of the whole instance table.
        WHERE i.id = ANY (ARRAY(SELECT due.id FROM due))
        RETURNING i.id, i.webhook_id, i.event_id, i.event_code,
                  i.execution_count
    )
    SELECT
        c.id,
        c.webhook_id,
        c.event_code,
        e.payload,
        c.execution_count,
        w.url,
        webhooks.signing_secrets(w)
    FROM claimed AS c
    JOIN webhooks.webhook AS w
      ON w.id = c.webhook_id
    JOIN webhooks.outbox AS e
      ON e.id = c.event_id;
$$;


-- start_execution: claim one instance for an operator's execute now.
--
-- Allowed in 'failed', 'canceled' and 'success'; leaves remaining_retries
-- alone. Waits for a relay's claim of the same row to commit and then
-- re-checks the state, so exactly one of the two tries happens.
-- Raises WH404 when the instance does not exist, WH409 when its state does
-- not allow a try.
CREATE OR REPLACE FUNCTION webhooks.start_execution(
    p_instance_id uuid,
    p_lease interval,
    p_token uuid
)
RETURNS TABLE (
    instance_id  uuid,
    webhook_id   uuid,
    event_code   text,
    payload      jsonb,
    retry_number integer,
    url          text,
    secrets      text[]
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_state text;
BEGIN
    UPDATE webhooks.instance AS i
    SET state = 'running',
        due_at = now() + p_lease,
        held = false,
        lease_token = p_token,
        updated_at = now()
    WHERE i.id = p_instance_id
      AND i.state IN ('failed', 'canceled', 'success');

    IF NOT FOUND THEN
        SELECT i.state
        INTO v_state
        FROM webhooks.instance AS i
        WHERE i.id = p_instance_id;

        IF v_state IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'WH404',
                MESSAGE = format('Webhook instance %s not found.',
                                 p_instance_id);
        END IF;

        RAISE EXCEPTION USING
            ERRCODE = 'WH409',
            MESSAGE = format('Webhook instance %s is %s; execute now is '
                             'allowed only when it is failed, canceled or '
                             'success.', p_instance_id, v_state),
            HINT = 'Wait until the current try has finished.';
    END IF;

    RETURN QUERY
    SELECT
        i.id,
        i.webhook_id,
        i.event_code,
        e.payload,
        i.execution_count,
        w.url,
        webhooks.signing_secrets(w)
    FROM webhooks.instance AS i
    JOIN webhooks.webhook AS w
      ON w.id = i.webhook_id
    JOIN webhooks.outbox AS e
      ON e.id = i.event_id
    WHERE i.id = p_instance_id;
END;
$$;


-- reset_expired_claims: give up to p_limit instances whose claim ran out,
-- because their relay died, the state their last execution left, and
-- return how many.
--
-- The claim path takes such an instance again only when its turn in due
-- order comes, behind any backlog, and never for a disabled webhook. Until
-- then it would show 'running' although nothing runs it. 'success' stays
-- finished. 'new' (no execution yet) and 'failed' become due now, or are
-- held when the webhook is disabled, so that release_instances makes them
-- due. manual_retry keeps the next claim from using up a retry that the
-- expired claim already used.
CREATE OR REPLACE FUNCTION webhooks.reset_expired_claims(p_limit integer)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_count integer;
BEGIN
    WITH expired AS (
        SELECT
            r.id,
            r.execution_count,
            w.enabled,
            (SELECT e.success
             FROM webhooks.execution AS e
             WHERE e.instance_id = r.id
             ORDER BY e.created_at DESC, e.id DESC
             LIMIT 1) AS last_success
        FROM webhooks.instance AS r
        JOIN webhooks.webhook AS w
          ON w.id = r.webhook_id
        WHERE r.state = 'running'
          AND r.due_at <= now()
        LIMIT p_limit
        FOR UPDATE OF r SKIP LOCKED
    )
    UPDATE webhooks.instance AS i
    SET state = CASE
            WHEN x.last_success IS NULL THEN 'new'
            WHEN x.last_success THEN 'success'
            ELSE 'failed'
        END,
        held = NOT x.enabled AND x.last_success IS NOT TRUE,
        due_at = CASE
            WHEN x.enabled AND x.last_success IS NOT TRUE THEN now()
        END,
        lease_token = NULL,
        manual_retry = x.execution_count > 0,
        updated_at = now()
    FROM expired AS x
    WHERE i.id = x.id;

    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
