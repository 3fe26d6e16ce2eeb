-- Sessions of the web console. The cookie carries a random id; only its
-- SHA-256 is stored, so the table cannot be used to take over a session. A
-- session holds who signed in (subject, jurisdiction, roles), the token every
-- form must carry (CSRF), and when it began and was last used (for the idle
-- and absolute timeouts). No case data: pages are built from the services'
-- answers and never stored.
CREATE TABLE web_sessions (
    id_hash      TEXT PRIMARY KEY,
    subject      TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    roles        TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    created      INTEGER NOT NULL,
    seen         INTEGER NOT NULL
);
