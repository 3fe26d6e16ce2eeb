-- De-identified facts only: keyed by salted hashes of resource names, with
-- quarters and months for dates, age bands for ages, and codes for everything
-- else. No names, case numbers, exact dates, worker identities or narrative.

CREATE TABLE facts_reviews (
    review_key     TEXT PRIMARY KEY,
    jurisdiction   TEXT    NOT NULL,
    incident_type  INTEGER NOT NULL,
    cause          INTEGER NOT NULL,
    quarter        TEXT    NOT NULL,
    age_band       TEXT    NOT NULL,
    sex            INTEGER NOT NULL,
    races          TEXT    NOT NULL,
    tribal         INTEGER NOT NULL,
    placement      INTEGER NOT NULL,
    stage          INTEGER NOT NULL,
    opened_month   TEXT    NOT NULL,
    next_due_month TEXT    NOT NULL
);

CREATE TABLE facts_levels (
    review_key   TEXT    NOT NULL,
    ko_key       TEXT    NOT NULL,
    item_code    TEXT    NOT NULL,
    domain_code  TEXT    NOT NULL,
    level        INTEGER NOT NULL,
    instrument   TEXT    NOT NULL,
    PRIMARY KEY (review_key, ko_key, item_code)
);

CREATE TABLE facts_themes (
    review_key  TEXT    NOT NULL,
    source_key  TEXT    NOT NULL,
    theme       INTEGER NOT NULL,
    PRIMARY KEY (review_key, source_key, theme)
);

CREATE TABLE facts_learning (
    lo_key      TEXT PRIMARY KEY,
    review_key  TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    function    INTEGER NOT NULL
);

CREATE TABLE facts_recommendations (
    rec_key     TEXT PRIMARY KEY,
    review_key  TEXT    NOT NULL,
    category    INTEGER NOT NULL,
    strength    INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    due_month   TEXT    NOT NULL,
    done_month  TEXT    NOT NULL
);

CREATE TABLE facts_stage_days (
    review_key  TEXT    NOT NULL,
    stage       INTEGER NOT NULL,
    days        INTEGER NOT NULL,
    PRIMARY KEY (review_key, stage)
);

-- Which reviews' facts changed, in order, so every replica refreshes its index.
CREATE TABLE facts_changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    review_key  TEXT NOT NULL
);
