-- The current webhooks schema in one readable file: every table and index
-- that the migrations in migrations/ build. A test applies both and compares
-- the results, so update this file with every new migration.

CREATE SCHEMA IF NOT EXISTS webhooks;

CREATE TABLE webhooks.event_type (
    code            text PRIMARY KEY,
    title           text NOT NULL,
    description     text NOT NULL,
    example_payload jsonb NOT NULL
);

-- One row. The relay writes its configuration here at start so that emit,
-- which runs inside Streto's transactions, uses the same retry schedule.
CREATE TABLE webhooks.setting (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    retry_delays    interval[] NOT NULL
                    DEFAULT '{30s,2min,10min,30min,1h,3h,6h,12h}',
    disable_after   integer NOT NULL DEFAULT 20 CHECK (disable_after > 0),
    wakeup_interval interval NOT NULL DEFAULT '50 ms',
    updated_at      timestamptz
);


CREATE TABLE webhooks.webhook (
    id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at                 timestamptz NOT NULL
                               DEFAULT date_trunc('milliseconds', now()),
    updated_at                 timestamptz,
    name                       text NOT NULL,
    description                text,
    url                        text NOT NULL,
    event_codes                text[] NOT NULL DEFAULT '{}',
    enabled                    boolean NOT NULL DEFAULT false,
    successive_failure_count   integer NOT NULL DEFAULT 0,
    -- Set when failures disabled the webhook; cleared when it is enabled.
    auto_disabled_at           timestamptz,
    -- Set when operators were warned (failing or disabled); the next success
    -- clears it and stores a webhook.recovered notification.
    warned_at                  timestamptz,
    secret                     text NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamptz
);

-- Fan-out looks up the enabled webhooks listening to one event code.
CREATE INDEX webhook_event_codes_idx
    ON webhooks.webhook
    USING gin (event_codes)
    WHERE enabled;

CREATE INDEX webhook_created_at_idx
    ON webhooks.webhook (created_at DESC, id);

-- The outbox is also the event store that recover reads, so rows stay for the
-- event retention period (and while an instance still refers to them).
CREATE TABLE webhooks.outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_code text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);

CREATE INDEX outbox_created_at_idx
    ON webhooks.outbox (created_at);

-- due_at is the one scheduling column: when a new or failed instance may be
-- claimed, and for a running instance when its lease runs out. NULL means
-- nothing is scheduled (finished, or held while the webhook is disabled).
-- A low fillfactor leaves room for the state updates on the same page.
CREATE TABLE webhooks.instance (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id        uuid NOT NULL
                      REFERENCES webhooks.webhook (id) ON DELETE CASCADE,
    event_id          bigint NOT NULL,
    event_code        text NOT NULL,
    created_at        timestamptz NOT NULL
                      DEFAULT date_trunc('milliseconds', now()),
    updated_at        timestamptz,
    state             text NOT NULL DEFAULT 'new'
                      CHECK (state IN ('new', 'running', 'success', 'failed',
                                       'canceled')),
    remaining_retries integer NOT NULL CHECK (remaining_retries >= 0),
    execution_count   integer NOT NULL DEFAULT 0,
    due_at            timestamptz,
    held              boolean NOT NULL DEFAULT false,
    lease_token       uuid,
    -- Queued by an operator's bulk retry: the claim keeps remaining_retries.
    manual_retry      boolean NOT NULL DEFAULT false
) WITH (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0
);

-- The claim index: only scheduled rows are in it, so finished instances
-- leave the hot path as soon as they are recorded. The claim reads it one
-- webhook at a time.
CREATE INDEX instance_webhook_due_at_idx
    ON webhooks.instance (webhook_id, due_at)
    WHERE due_at IS NOT NULL;

-- Each webhook's requests in flight, counted against the claim's cap.
CREATE INDEX instance_running_idx
    ON webhooks.instance (webhook_id)
    WHERE state = 'running';

CREATE INDEX instance_webhook_created_at_idx
    ON webhooks.instance (webhook_id, created_at DESC, id);

CREATE INDEX instance_held_idx
    ON webhooks.instance (webhook_id)
    WHERE held;

CREATE INDEX instance_event_id_idx
    ON webhooks.instance (event_id);

CREATE TABLE webhooks.execution (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    instance_id      uuid NOT NULL
                     REFERENCES webhooks.instance (id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL
                     DEFAULT date_trunc('milliseconds', now()),
    success          boolean NOT NULL,
    manual           boolean NOT NULL DEFAULT false,
    message          text NOT NULL,
    response_status  integer,
    response_headers jsonb,
    -- SQL NULL when no response came; JSON null when the body was empty.
    response_body    jsonb,
    duration_ms      integer
);

CREATE INDEX execution_instance_id_idx
    ON webhooks.execution (instance_id, created_at);

CREATE TABLE webhooks.notification (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind         text NOT NULL
                 CHECK (kind IN ('webhook.failing', 'webhook.disabled',
                                 'webhook.recovered')),
    webhook_id   uuid REFERENCES webhooks.webhook (id) ON DELETE SET NULL,
    webhook_name text NOT NULL,
    message      text NOT NULL,
    created_at   timestamptz NOT NULL
                 DEFAULT date_trunc('milliseconds', now()),
    read_at      timestamptz,
    emailed_at   timestamptz,
    -- Mail tries so far, and when the next may start; a try in progress
    -- pushes email_next_at out like a lease.
    email_attempts integer NOT NULL DEFAULT 0,
    email_next_at  timestamptz
);

CREATE INDEX notification_created_at_idx
    ON webhooks.notification (created_at DESC, id);

CREATE INDEX notification_unread_idx
    ON webhooks.notification (created_at DESC)
    WHERE read_at IS NULL;

-- One row. Emitting transactions take it with SKIP LOCKED to decide whether
-- they are the one that sends NOTIFY in the current interval.
CREATE TABLE webhooks.wakeup (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    notified_at timestamptz NOT NULL DEFAULT '-infinity'
) WITH (fillfactor = 50);

CREATE INDEX notification_email_pending_idx
    ON webhooks.notification (created_at)
    WHERE emailed_at IS NULL;

-- The audit trail: who changed each webhook, and how. Entries have no
-- foreign key to the webhook, so they outlive its deletion.
CREATE TABLE webhooks.audit_entry (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Orders the entries: created_at is the start of the transaction, and
    -- several entries can share a millisecond.
    position   bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    webhook_id uuid NOT NULL,
    action     text NOT NULL,
    author     text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_entry_webhook_position_idx
    ON webhooks.audit_entry (webhook_id, position);
