-- Webhook endpoints and their failed deliveries (services/kit/src/webhooks.rs).

CREATE TABLE webhooks (
    id                   TEXT    PRIMARY KEY,
    jurisdiction         TEXT    NOT NULL,
    url                  TEXT    NOT NULL,
    event_types          TEXT    NOT NULL,
    secret               BLOB    NOT NULL,
    state                INTEGER NOT NULL,
    disabled_reason      TEXT    NOT NULL,
    delivered_cursor     BIGINT  NOT NULL,
    consecutive_failures INTEGER NOT NULL,
    next_attempt_time    BIGINT  NOT NULL,
    create_time          BIGINT  NOT NULL
);

CREATE INDEX webhooks_by_jurisdiction ON webhooks (jurisdiction, create_time);

CREATE TABLE webhook_failures (
    webhook_id        TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    cursor            BIGINT  NOT NULL,
    event_id          TEXT    NOT NULL,
    event_type        TEXT    NOT NULL,
    attempts          INTEGER NOT NULL,
    last_error        TEXT    NOT NULL,
    last_attempt_time BIGINT  NOT NULL,
    delivered         INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, cursor)
);
