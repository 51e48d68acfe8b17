"""Partitioning an index table by person on PostgreSQL: a probe before changing the schema.

Builds, on a private cluster (``bench/workers.py``'s), two copies of a reference-index table
carrying the person (``idx_reference`` plus ``patient_id``, as ``docs/scaling.md`` plans):
one plain, one ``PARTITION BY HASH (patient_id)`` with ``--partitions`` partitions, the same
index on both. It loads ``--persons`` people × ``--rows`` rows into each (timed, in
interleaved batches), then runs the person's-page query (the rows of one person's Goals)
for random people on both, interleaved, and prints the rates, the p50/p95 and the buffers
one query touches (``EXPLAIN (ANALYZE, BUFFERS)``).

    python -m bench.pg_partitions [--persons 20000] [--rows 100] [--partitions 16]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from typing import Any

from bench.workers import fresh_pg_database, postgres_cluster

COLUMNS = "res_pk bigint, patient_id text, rtype text, param text, ref_type text, ref_id text"
TYPES = ("Goal", "CarePlan", "CareTeam", "EpisodeOfCare", "QuestionnaireResponse")


def rows_of(person: int, n: int) -> list[tuple[Any, ...]]:
    pid = f"pa-{person:07d}"
    return [(person * n + i, pid, TYPES[i % len(TYPES)], "subject", "Patient", pid)
            for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--rows", type=int, default=100, help="index rows per person")
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--queries", type=int, default=3000)
    args = ap.parse_args(argv)
    import psycopg

    with postgres_cluster() as (server, _pid):
        url = fresh_pg_database(server, "partitions").replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE plain ({COLUMNS})")
            conn.execute(f"CREATE TABLE part ({COLUMNS}) PARTITION BY HASH (patient_id)")
            for i in range(args.partitions):
                conn.execute(f"CREATE TABLE part_{i} PARTITION OF part FOR VALUES WITH "
                             f"(MODULUS {args.partitions}, REMAINDER {i})")
            for t in ("plain", "part"):
                conn.execute(f"CREATE INDEX ix_{t} ON {t} (patient_id, rtype, param)")
            load = {"plain": 0.0, "part": 0.0}
            batch = 500
            for start in range(0, args.persons, batch):
                rows = [r for p in range(start, min(start + batch, args.persons))
                        for r in rows_of(p, args.rows)]
                for t in ("plain", "part") if start % 2 == 0 else ("part", "plain"):
                    t0 = time.perf_counter()
                    with conn.cursor() as cur:
                        cur.executemany(f"INSERT INTO {t} VALUES (%s, %s, %s, %s, %s, %s)", rows)
                    load[t] += time.perf_counter() - t0
            conn.execute("ANALYZE plain")
            conn.execute("ANALYZE part")
            total = args.persons * args.rows
            sizes = {t: conn.execute(f"SELECT pg_size_pretty(pg_total_relation_size('{t}'))"
                                     if t == "plain" else
                                     "SELECT pg_size_pretty(sum(pg_total_relation_size("
                                     "inhrelid)))" " FROM pg_inherits WHERE inhparent = "
                                     "'part'::regclass").fetchone()[0] for t in load}
            sql = ("SELECT res_pk FROM {t} WHERE patient_id = %s AND rtype = 'Goal' "
                   "AND param = 'subject'")
            rng = random.Random(1)
            times: dict[str, list[float]] = {"plain": [], "part": []}
            with conn.cursor() as cur:
                for _ in range(args.queries):
                    pid = f"pa-{rng.randrange(args.persons):07d}"
                    for t in ("plain", "part") if rng.random() < 0.5 else ("part", "plain"):
                        t0 = time.perf_counter()
                        cur.execute(sql.format(t=t), (pid,), prepare=True)
                        cur.fetchall()
                        times[t].append(time.perf_counter() - t0)
                plans = {}
                for t in times:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql.format(t=t),
                                ("pa-0000042",))
                    plans[t] = "\n      ".join(r[0] for r in cur.fetchall())
    w = sys.stdout.write
    w(f"\n{args.persons} persons × {args.rows} index rows = {total:,} rows per table, "
      f"{args.partitions} hash partitions\n")
    w("| table | load rows/s | size | person's Goals: queries/s | p50 ms | p95 ms |\n"
      "|---|---|---|---|---|---|\n")
    for t, ts in times.items():
        s = sorted(ts)
        w(f"| {t} | {total / load[t]:,.0f} | {sizes[t]} | {len(s) / sum(s):,.0f} | "
          f"{1000 * statistics.median(s):.3f} | {1000 * s[int(len(s) * 0.95)]:.3f} |\n")
    for t, plan in plans.items():
        w(f"\n  {t}:\n      {plan}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
