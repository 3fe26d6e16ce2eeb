-- What scoring knows of reviews (from review's events), the rating sets, and
-- the consensus of each key observation.

CREATE TABLE scored_reviews (
    review        TEXT    PRIMARY KEY,
    jurisdiction  TEXT    NOT NULL,
    stage         INTEGER NOT NULL
);

CREATE TABLE key_observations (
    name     TEXT    PRIMARY KEY,
    review   TEXT    NOT NULL,
    deleted  INTEGER NOT NULL
);

CREATE INDEX key_observations_by_review ON key_observations (review);

CREATE TABLE rating_sets (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    key_observation  TEXT    NOT NULL,
    review           TEXT    NOT NULL,
    rater            TEXT    NOT NULL,
    instrument       TEXT    NOT NULL,
    submit_time      BIGINT  NOT NULL,
    body             BLOB    NOT NULL,
    UNIQUE (key_observation, rater)
);

CREATE INDEX rating_sets_by_review ON rating_sets (review);

CREATE TABLE consensus (
    key_observation  TEXT    PRIMARY KEY,
    review           TEXT    NOT NULL,
    instrument       TEXT    NOT NULL,
    recorded_by      TEXT    NOT NULL,
    record_time      BIGINT  NOT NULL,
    body             BLOB    NOT NULL
);
