-- What insights keeps of safety culture surveys: a closed wave's counts for
-- the whole wave (culture sends nothing per unit, and nothing when the whole
-- would reveal a small unit), the quarter the wave closed, and a salted key
-- for its name. No unit, title, code or answer.
CREATE TABLE facts_culture_waves (
    wave_key     TEXT    PRIMARY KEY,
    jurisdiction TEXT    NOT NULL,
    quarter      TEXT    NOT NULL,
    respondents  INTEGER NOT NULL,
    invited      INTEGER NOT NULL,
    cell_key     INTEGER  NOT NULL
);

-- A wave's answers to a composite's items: positive, neutral and negative.
CREATE TABLE facts_culture_composites (
    wave_key  TEXT    NOT NULL,
    composite TEXT    NOT NULL,
    positive  INTEGER NOT NULL,
    neutral   INTEGER NOT NULL,
    negative  INTEGER NOT NULL,
    PRIMARY KEY (wave_key, composite)
);
