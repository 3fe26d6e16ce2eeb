-- Tables every SCIR service carries: the audit log, the event outbox and the
-- cursors of the event streams the service consumes.

CREATE TABLE audit_log (
    seq          BIGSERIAL PRIMARY KEY,
    record_time  BIGINT NOT NULL,
    subject      TEXT   NOT NULL,
    roles        TEXT   NOT NULL,
    method       TEXT   NOT NULL,
    resource     TEXT   NOT NULL,
    jurisdiction TEXT   NOT NULL,
    outcome      TEXT   NOT NULL,
    trace_id     TEXT   NOT NULL,
    prev_hash    TEXT   NOT NULL,
    hash         TEXT   NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE events (
    seq          BIGSERIAL PRIMARY KEY,
    event_id     TEXT   NOT NULL UNIQUE,
    event_type   TEXT   NOT NULL,
    subject      TEXT   NOT NULL,
    jurisdiction TEXT   NOT NULL,
    create_time  BIGINT NOT NULL,
    traceparent  TEXT   NOT NULL,
    payload      BYTEA  NOT NULL
);

CREATE TABLE consumer_cursors (
    source       TEXT PRIMARY KEY,
    position     BIGINT NOT NULL,
    update_time  BIGINT NOT NULL
);
