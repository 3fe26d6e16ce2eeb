-- Tables every SCIR service carries: the audit log, the event outbox and the
-- cursors of the event streams the service consumes.

CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
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

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT   NOT NULL UNIQUE,
    event_type   TEXT   NOT NULL,
    subject      TEXT   NOT NULL,
    jurisdiction TEXT   NOT NULL,
    create_time  BIGINT NOT NULL,
    traceparent  TEXT   NOT NULL,
    payload      BLOB   NOT NULL
);

CREATE TABLE consumer_cursors (
    source       TEXT PRIMARY KEY,
    position     BIGINT NOT NULL,
    update_time  BIGINT NOT NULL
);
