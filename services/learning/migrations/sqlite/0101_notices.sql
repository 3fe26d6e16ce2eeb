-- Safety notices between members, and each recipient's response. A notice
-- lives in its issuer's jurisdiction; recipients are listed apart so that a
-- recipient finds the notices addressed to it.

CREATE TABLE notices (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    jurisdiction  TEXT    NOT NULL,
    body          BLOB    NOT NULL,
    create_time   BIGINT  NOT NULL
);

CREATE INDEX notices_by_jurisdiction ON notices (jurisdiction, seq);

CREATE TABLE notice_recipients (
    notice_id     TEXT    NOT NULL REFERENCES notices (id),
    notice_seq    BIGINT  NOT NULL,
    jurisdiction  TEXT    NOT NULL,
    kind          INTEGER NOT NULL,
    detail        TEXT    NOT NULL,
    respond_time  BIGINT,
    PRIMARY KEY (notice_id, jurisdiction)
);

CREATE INDEX notice_recipients_by_jurisdiction ON notice_recipients (jurisdiction, notice_seq);
