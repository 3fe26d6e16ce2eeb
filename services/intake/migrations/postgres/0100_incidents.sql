-- Incidents, their append-only revisions (facts, decision, amendment), and the
-- restricted identity of each revision, kept apart so that it can be guarded
-- (and encrypted) on its own.

CREATE TABLE incidents (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    jurisdiction  TEXT    NOT NULL,
    request_id    TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    incident_type INTEGER NOT NULL,
    incident_date TEXT    NOT NULL,
    outcome       INTEGER NOT NULL,
    revision      INTEGER NOT NULL,
    reported_by   TEXT    NOT NULL,
    create_time   BIGINT  NOT NULL,
    update_time   BIGINT  NOT NULL,
    UNIQUE (jurisdiction, request_id)
);

CREATE INDEX incidents_by_jurisdiction ON incidents (jurisdiction, seq);

CREATE TABLE incident_revisions (
    incident_id  TEXT    NOT NULL REFERENCES incidents (id),
    revision     INTEGER NOT NULL,
    facts        BYTEA   NOT NULL,
    decision     BYTEA   NOT NULL,
    amendment    BYTEA,
    create_time  BIGINT  NOT NULL,
    PRIMARY KEY (incident_id, revision)
);

CREATE TABLE incident_restricted (
    incident_id  TEXT    NOT NULL REFERENCES incidents (id),
    revision     INTEGER NOT NULL,
    identity     BYTEA   NOT NULL,
    PRIMARY KEY (incident_id, revision)
);
