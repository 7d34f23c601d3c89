-- Retention: delete what operators no longer need, in small batches so that
-- no statement holds many row locks or runs long next to deliveries.


-- prune_instances: delete up to p_limit finished instances (success,
-- canceled, or failed with no retry left) last changed before p_before,
-- with their executions. Returns the number deleted.
CREATE OR REPLACE FUNCTION webhooks.prune_instances(
    p_before timestamptz,
    p_limit integer
)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_count integer;
BEGIN
    DELETE FROM webhooks.instance AS i
    WHERE i.id IN (
        SELECT f.id
        FROM webhooks.instance AS f
        WHERE f.due_at IS NULL
          AND NOT f.held
          AND f.state IN ('success', 'canceled', 'failed')
          AND coalesce(f.updated_at, f.created_at) < p_before
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    );

    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;


-- prune_events: delete up to p_limit events created before p_before that no
-- instance refers to any more. Returns the number deleted.
CREATE OR REPLACE FUNCTION webhooks.prune_events(
    p_before timestamptz,
    p_limit integer
)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_count integer;
BEGIN
    DELETE FROM webhooks.outbox AS o
    WHERE o.id IN (
        SELECT e.id
        FROM webhooks.outbox AS e
        WHERE e.created_at < p_before
          AND NOT EXISTS (
              SELECT 1
              FROM webhooks.instance AS i
              WHERE i.event_id = e.id
          )
        ORDER BY e.created_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    );

    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
