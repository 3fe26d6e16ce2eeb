-- What insights keeps of the learning loop, as de-identified as the review
-- facts: salted keys for resource names, quarters and months for dates, codes
-- for everything else, no text. Each row is a counted unit with its own
-- permanent random cell key (docs/insights.md, "Disclosure control").

-- A consideration of an aggregate mapping, in the mapping's jurisdiction and
-- the quarter it was first recorded.
CREATE TABLE facts_considerations (
    consideration_key TEXT PRIMARY KEY,
    jurisdiction      TEXT    NOT NULL,
    quarter           TEXT    NOT NULL,
    category          INTEGER NOT NULL,
    strength          INTEGER NOT NULL,
    status            INTEGER NOT NULL,
    due_month         TEXT    NOT NULL,
    effectiveness     INTEGER NOT NULL,
    cell_key          INTEGER  NOT NULL
);

-- A safety notice at one recipient jurisdiction: the quarter and due month of
-- the notice, and the recipient's response (0 until it answers) with the whole
-- days it took.
CREATE TABLE facts_notice_recipients (
    notice_key    TEXT    NOT NULL,
    jurisdiction  TEXT    NOT NULL,
    quarter       TEXT    NOT NULL,
    due_month     TEXT    NOT NULL,
    response      INTEGER NOT NULL,
    days          INTEGER NOT NULL,
    cell_key      INTEGER  NOT NULL,
    PRIMARY KEY (notice_key, jurisdiction)
);
