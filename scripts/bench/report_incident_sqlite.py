#!/usr/bin/env python3
"""The SQLite ceiling of ReportIncident: the statements intake commits for one
report (incident, revision, sealed identity, the audit append guarded by the
chain's last hash, the outbox event), in one `BEGIN IMMEDIATE` transaction,
with payloads of the benchmark's sizes, against a copy of a freshly migrated
intake database (same schema, indexes and triggers). As in the service: WAL,
synchronous=NORMAL, busy_timeout 5 s, and CLIENTS callers taking turns on one
writer connection, so waiting happens in a queue rather than in SQLite's busy
handler, and the log is checkpointed every 250 ms from another connection
rather than by the commit that fills it. Python's sqlite3 module is C; its per-statement cost is small against
a commit but is counted, so the ceiling is, if anything, low.

usage: report_incident_sqlite.py DATABASE CLIENTS SECONDS
prints: {"tps": ..., "p50_ms": ..., "p99_ms": ..., "transactions": ...}
"""

import json
import os
import queue
import sqlite3
import sys
import threading
import time

POOL = 1  # the service writes through one connection too
FACTS = b"\x0a" * 2000
DECISION = b"\x0b" * 1000
IDENTITY = b"\x0c" * 300
PAYLOAD = b"\x0d" * 200


def connect(path):
    conn = sqlite3.connect(path, isolation_level=None, timeout=5, check_same_thread=False)
    for pragma in ("journal_mode = WAL", "busy_timeout = 5000", "synchronous = NORMAL", "foreign_keys = ON",
                   "wal_autocheckpoint = 0", "temp_store = MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def report(conn, key):
    name = f"jurisdictions/us-wi/incidents/{key}"
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO incidents (id, jurisdiction, request_id, request_hash, incident_type, incident_date,"
            " outcome, revision, reported_by, create_time, update_time) VALUES (?, 'us-wi', ?, ?, 1, '2025-03-10',"
            " 1, 1, 'bench-user', 1, 1)",
            (key, key, "h" * 64),
        )
        conn.execute(
            "INSERT INTO incident_revisions (incident_id, revision, facts, decision, amendment, create_time)"
            " VALUES (?, 1, ?, ?, NULL, 1)",
            (key, FACTS, DECISION),
        )
        conn.execute(
            "INSERT INTO incident_restricted (incident_id, revision, identity) VALUES (?, 1, ?)",
            (key, IDENTITY),
        )
        # Linked to the remembered chain head, guarded by a look-up of the actual
        # head in the same statement (as the service); here the guard holds always.
        conn.execute(
            "INSERT INTO audit_log (record_time, subject, roles, method, resource, jurisdiction, outcome,"
            " trace_id, prev_hash, hash) SELECT 1, 'bench-user', 'reporter', 'ReportIncident', ?, 'us-wi',"
            " 'ok', '', ?, ? WHERE COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '')"
            " <> 'never'",
            (name, "p" * 64, "q" * 64),
        )
        conn.execute(
            "INSERT INTO events (event_id, event_type, subject, jurisdiction, create_time, traceparent, payload)"
            " VALUES (?, 'scir.intake.v1.IncidentReported', ?, 'us-wi', 1, '', ?) RETURNING seq",
            (key, name, PAYLOAD),
        ).fetchone()
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def main():
    path, clients, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    pool = queue.Queue()
    for _ in range(POOL):
        pool.put(connect(path))
    latencies = []
    lock = threading.Lock()
    end = time.monotonic() + seconds
    run = f"{os.getpid()}-{time.time_ns()}"

    def checkpointer():
        conn = connect(path)
        while time.monotonic() < end:
            time.sleep(0.25)
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def client(i):
        n = 0
        mine = []
        while time.monotonic() < end:
            start = time.monotonic()
            conn = pool.get()
            try:
                report(conn, f"sq-{run}-{i}-{n}")
            finally:
                pool.put(conn)
            mine.append(time.monotonic() - start)
            n += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    threads.append(threading.Thread(target=checkpointer))
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    at = lambda p: latencies[max(0, min(len(latencies) - 1, int(len(latencies) * p)))] * 1000
    print(json.dumps({
        "tps": len(latencies) / elapsed,
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "transactions": len(latencies),
    }))


if __name__ == "__main__":
    main()
