"""Drop PostgreSQL test databases (test_linli_<pid>) left behind by finished test runs.

A browser test's live-server thread can still hold a connection when pytest-django tears
the test database down, so the drop fails there; once pytest has exited nobody is connected.
"""

import sys

import psycopg

url = sys.argv[1]
with psycopg.connect(url, autocommit=True) as conn:
    stale = conn.execute(
        "SELECT datname FROM pg_database d WHERE datname LIKE 'test_linli_%' "
        "AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)"
    ).fetchall()
    for (name,) in stale:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        print(f"dropped stale test database {name}")
