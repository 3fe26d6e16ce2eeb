-- Aggregate mappings and their parts (sessions, considerations). Restricted
-- content (session notes) is kept apart from the body, sealed.

CREATE TABLE mappings (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    jurisdiction  TEXT    NOT NULL,
    stage         INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    body          BYTEA   NOT NULL,
    create_time   BIGINT  NOT NULL,
    update_time   BIGINT  NOT NULL
);

CREATE INDEX mappings_by_jurisdiction ON mappings (jurisdiction, seq);

-- `kind` is the collection id (`sessions`, `considerations`); `due_date`
-- (YYYY-MM-DD) and `is_open` are set for considerations, for the overdue list.
CREATE TABLE mapping_parts (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    mapping_id    TEXT    NOT NULL REFERENCES mappings (id),
    jurisdiction  TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    body          BYTEA   NOT NULL,
    restricted    BYTEA,
    due_date      TEXT,
    is_open       INTEGER NOT NULL,
    create_time   BIGINT  NOT NULL,
    update_time   BIGINT  NOT NULL
);

CREATE INDEX mapping_parts_by_mapping ON mapping_parts (mapping_id, kind, seq);
CREATE INDEX mapping_parts_overdue ON mapping_parts (jurisdiction, kind, is_open, due_date);
