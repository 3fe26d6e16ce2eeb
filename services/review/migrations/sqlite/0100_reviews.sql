-- Reviews, their parts (team, episodes, debriefings, key observations, systems
-- maps, learning opportunities, recommendations) and their append-only history.

CREATE TABLE reviews (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    jurisdiction  TEXT    NOT NULL,
    incident      TEXT    NOT NULL UNIQUE,
    stage         INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    next_due_date TEXT,
    body          BLOB    NOT NULL,
    create_time   BIGINT  NOT NULL,
    update_time   BIGINT  NOT NULL
);

CREATE INDEX reviews_by_jurisdiction ON reviews (jurisdiction, seq);

-- One row per part; `kind` is the collection id (`episodes`, ...). Restricted
-- content (debriefing notes) is kept apart from the body.
CREATE TABLE review_items (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    review_id    TEXT    NOT NULL REFERENCES reviews (id),
    kind         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    body         BLOB    NOT NULL,
    restricted   BLOB,
    create_time  BIGINT  NOT NULL,
    update_time  BIGINT  NOT NULL
);

CREATE INDEX review_items_by_review ON review_items (review_id, kind, seq);

CREATE TABLE review_history (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    review_id  TEXT    NOT NULL REFERENCES reviews (id),
    time       BIGINT  NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    stage      INTEGER NOT NULL,
    reason     TEXT    NOT NULL
);

CREATE INDEX review_history_by_review ON review_history (review_id, seq);
