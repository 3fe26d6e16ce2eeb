-- Survey waves and their units, invitation codes, and the anonymous responses.
-- Codes and responses share no key: a code row holds a hash of the code and
-- its unit; it is deleted when used, in the transaction that stores the
-- response, whose row holds a random id, the wave, the unit and the answers,
-- and no time (docs/culture.md, "Anonymous by construction").

CREATE TABLE culture_waves (
    id            TEXT PRIMARY KEY,
    jurisdiction  TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    instrument    TEXT    NOT NULL,
    open_date     TEXT    NOT NULL,
    close_date    TEXT    NOT NULL,
    state         INTEGER NOT NULL,
    create_time   BIGINT  NOT NULL
);

CREATE INDEX culture_waves_by_jurisdiction ON culture_waves (jurisdiction, create_time);

CREATE TABLE culture_units (
    wave_id   TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    unit_id   TEXT    NOT NULL,
    title     TEXT    NOT NULL,
    parent    TEXT    NOT NULL,
    invited   INTEGER NOT NULL,
    -- Responses so far.
    respondents INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (wave_id, unit_id)
);

-- Running counts of positive, neutral and negative answers per unit and item
-- (its position in the instrument), kept with each response so that results
-- read one row per unit and item, not every response. Sums, never a single
-- response.
CREATE TABLE culture_tallies (
    wave_id   TEXT    NOT NULL,
    unit_id   TEXT    NOT NULL,
    item      INTEGER NOT NULL,
    positive  INTEGER NOT NULL,
    neutral   INTEGER NOT NULL,
    negative  INTEGER NOT NULL,
    PRIMARY KEY (wave_id, unit_id, item)
);

CREATE TABLE culture_codes (
    code_hash  TEXT PRIMARY KEY,
    wave_id    TEXT NOT NULL,
    unit_id    TEXT NOT NULL
);

-- The random id is the key, so the rows are kept in no order of arrival.
CREATE TABLE culture_responses (
    response_id  TEXT PRIMARY KEY,
    wave_id      TEXT NOT NULL,
    unit_id      TEXT NOT NULL,
    answers      TEXT NOT NULL
);

CREATE INDEX culture_responses_by_wave ON culture_responses (wave_id, unit_id);
