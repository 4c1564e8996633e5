"""Steps of bench/api/run that are easier in Python than in bash.

  harness.py paths DB DIR               files of request paths for wrk, from the database
                                        (a SQLite file, or a postgres:// URL)
  harness.py check DIR NAME=URL...      the servers answer those paths alike, before any load
  harness.py setup KEY=VALUE...         the JSON line describing the run
  harness.py pg-ready URL               prints the server's version and the process id of
                                        its postmaster (0 when not visible here), or why
                                        it cannot be used, exiting 1
  harness.py pg-create URL NAME         (re)creates database NAME; prints its URL
  harness.py pg-drop URL NAME           drops database NAME, if there
  harness.py load BACKEND SYSTEM ENDPOINT ROUND SERVER_PID DATABASE_PID -- WRK...
      runs wrk (with paths.lua), fails loudly on any non-2xx answer or socket error,
      and prints one JSON line of results, with the CPU time the server, the
      database server (DATABASE_PID, 0 for none), wrk and anything else used meanwhile
"""

import asyncio
import json
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

# Words people search titles for; "the man" is two tokens, both required.
QUERIES = ["star", "love", "the man", "war", "night"]
LIMIT = 20

# Endpoint -> what the report calls it; DIR/<endpoint>.txt holds its request paths.
ENDPOINTS = {
    "healthz": "ceiling: `GET /healthz`",
    "search_star": "search `q=star`",
    "search_mixed": f"search, {len(QUERIES)} queries in turn",
    "detail": "movie by id, every id in turn",
}

# Share of the machine's CPU time that neither the server nor wrk may use during a
# run before the run is flagged as disturbed.
DISTURBED = 0.05


def now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def search_path(q):
    query = urllib.parse.urlencode({"q": q, "limit": LIMIT}, quote_via=urllib.parse.quote)
    return f"/api/v1/movies?{query}"


def movie_ids(db):
    if db.startswith(("postgres://", "postgresql://")):
        async def fetch():
            import asyncpg

            conn = await asyncpg.connect(db)
            try:
                return [row[0] for row in await conn.fetch("SELECT id FROM movies ORDER BY id")]
            finally:
                await conn.close()

        return asyncio.run(fetch())
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM movies ORDER BY id")]


def paths(db, out):
    ids = movie_ids(db)
    if not ids:
        sys.exit("the movies table is empty: the ETL loaded nothing")
    random.Random(42).shuffle(ids)
    out = Path(out)
    (out / "healthz.txt").write_text("/healthz\n")
    (out / "search_star.txt").write_text(search_path("star") + "\n")
    (out / "search_mixed.txt").write_text("".join(search_path(q) + "\n" for q in QUERIES))
    (out / "detail.txt").write_text("".join(f"/api/v1/movies/{i}\n" for i in ids))
    print(f"{len(ids):,} movies in the database", file=sys.stderr)


def get(base, path):
    """(status, content type, parsed body)."""
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, r.headers.get("content-type", ""), json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), json.loads(e.read() or b"null")


def first_difference(a, b):
    if not isinstance(a, dict) or not isinstance(b, dict):
        return f"{a!r} against {b!r}"
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            return f"{key}: {a.get(key, '<absent>')!r} against {b.get(key, '<absent>')!r}"
    return None


def check(directory, servers):
    """Fails unless every server answers every search path and 20 movie paths with
    200 and the same movies, each search finds some, and a missing movie is a 404
    problem document everywhere."""
    servers = dict(s.split("=", 1) for s in servers)
    (first, *others) = servers
    directory = Path(directory)
    searches = (directory / "search_mixed.txt").read_text().split()
    movies = (directory / "detail.txt").read_text().split()[:20]
    problems = []
    for path in searches + movies:
        answers = {}
        for name, base in servers.items():
            status, content_type, body = get(base, path)
            if status != 200 or not content_type.startswith("application/json"):
                problems.append(f"{name}: {path} answered {status} {content_type}: {body}")
            else:
                answers[name] = body
        if len(answers) < len(servers):
            continue
        if path in searches:
            if not answers[first]["items"]:
                problems.append(f"{first}: {path} found no movie (is movies_fts filled?)")
            ids = [m["id"] for m in answers[first]["items"]]
            for other in others:
                other_ids = [m["id"] for m in answers[other]["items"]]
                if other_ids != ids:
                    problems.append(f"{path}: {first} found ids {ids}, {other} {other_ids}")
                    continue
                for a, b in zip(answers[first]["items"], answers[other]["items"]):
                    if diff := first_difference(a, b):
                        problems.append(f"{path}, movie {a['id']}: {first} against {other}: {diff}")
                        break
                more = [answers[s].get("next_cursor") is not None for s in (first, other)]
                if more[0] != more[1]:
                    problems.append(f"{path}: only one of {first} and {other} gives a next_cursor")
            print(f"{path}: {len(ids)} movies", file=sys.stderr)
        else:
            for other in others:
                if diff := first_difference(answers[first], answers[other]):
                    problems.append(f"{path}: {first} against {other}: {diff}")
    alive = {}
    for name, base in servers.items():
        status, content_type, body = get(base, "/healthz")
        if status != 200 or not content_type.startswith("application/json"):
            problems.append(f"{name}: /healthz answered {status} {content_type}: {body}")
        alive[name] = body
    if len({json.dumps(body, sort_keys=True) for body in alive.values()}) > 1:
        problems.append(f"/healthz: the servers answer {alive}")
    missing = "/api/v1/movies/2000000000"
    for name, base in servers.items():
        status, content_type, body = get(base, missing)
        if status != 404 or not content_type.startswith("application/problem+json"):
            problems.append(f"{name}: {missing} answered {status} {content_type}: {body}")
    if problems:
        sys.exit("the servers do not answer alike:\n  " + "\n  ".join(problems))
    print(f"/healthz, {len(searches)} searches, {len(movies)} movies and a missing one answered "
          f"alike by "
          f"{', '.join(servers)}", file=sys.stderr)


def cpu_times():
    """(all CPU seconds not idle, since boot) from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid):
    """CPU seconds used so far by a process and its descendants (uvicorn's workers,
    PostgreSQL's backends), with those of descendants that ended and were waited for
    (a PostgreSQL backend whose connection closed)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), sum(map(int, fields[11:15])) / tick)
    tree, total, grew = {pid}, 0.0, True
    while grew:
        grew = False
        for p, (parent, _) in stats.items():
            if parent in tree and p not in tree:
                tree.add(p)
                grew = True
    for p in tree:
        total += stats.get(p, (0, 0.0))[1]
    return total


def setup(settings):
    print(json.dumps({
        "kind": "setup",
        **dict(s.split("=", 1) for s in settings),
        "fastapi": version("fastapi"),
        "pydantic": version("pydantic"),
        "uvicorn": version("uvicorn"),
        "asyncpg": version("asyncpg"),
        "python": platform.python_version(),
        "sqlite_python": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "at": now(),
    }))


def with_database(url, name):
    """`url` naming database `name` instead."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def pg(url, action, name=None):
    import asyncpg

    async def run():
        try:
            conn = await asyncio.wait_for(asyncpg.connect(url), 5)
        except Exception as e:  # any failure to connect means: skip PostgreSQL
            sys.exit(f"no PostgreSQL server answers at {url}: {type(e).__name__}: {e}")
        try:
            if action == "ready":
                server = await conn.fetchval("SHOW server_version")
                backend = await conn.fetchval("SELECT pg_backend_pid()")
                postmaster = 0
                try:
                    with open(f"/proc/{backend}/stat") as f:
                        postmaster = int(f.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    pass  # the server runs where this machine's /proc does not show it
                print(server.split()[0], postmaster)
            elif action == "create":
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{name}"')
                print(with_database(url, name))
            elif action == "drop":
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(run())


def load(backend, system, endpoint, round_, server_pid, database_pid, wrk):
    server_pid, database_pid = int(server_pid), int(database_pid)

    def database_cpu():
        return tree_cpu(database_pid) if database_pid else 0.0

    busy0, server0, database0 = cpu_times(), tree_cpu(server_pid), database_cpu()
    wrk0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(wrk, capture_output=True, text=True)
    wrk1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, server = cpu_times() - busy0, tree_cpu(server_pid) - server0
    database = database_cpu() - database0
    text = done.stdout + done.stderr
    if done.returncode != 0:
        sys.exit(f"{system} {endpoint}: wrk failed ({done.returncode}):\n{text}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        sys.exit(f"{system} {endpoint}: no results from wrk:\n{text}")
    result = json.loads(lines[-1])
    errors = {k: v for k, v in result["errors"].items() if v}
    if errors or "Non-2xx or 3xx responses" in text:
        sys.exit(f"{system} {endpoint}: errors under load {errors}:\n{text}")
    if result["requests"] == 0:
        sys.exit(f"{system} {endpoint}: no request completed:\n{text}")

    wrk_cpu = (wrk1.ru_utime + wrk1.ru_stime) - (wrk0.ru_utime + wrk0.ru_stime)
    capacity = result["seconds"] * os.cpu_count()
    other = max(0.0, busy - server - database - wrk_cpu)
    cpu = {
        "server_seconds": round(server, 2),
        "server_us_per_request": round(server / result["requests"] * 1e6, 1),
        "database_seconds": round(database, 2) if database_pid else None,
        "database_us_per_request": (
            round(database / result["requests"] * 1e6, 1) if database_pid else None),
        "wrk_seconds": round(wrk_cpu, 2),
        "other_seconds": round(other, 2),
        "other_share": round(other / capacity, 3),
    }
    latency = result["latency_ms"]
    note = ""
    if cpu["other_share"] > DISTURBED:
        note = f" (disturbed: {cpu['other_share']:.0%} of the CPU time went to other processes)"
    database_note = ""
    if database_pid:
        database_note = f", database {cpu['database_us_per_request']:.0f} µs/request"
    print(f"{'warm-up' if round_ == '0' else f'round {round_}'}: {backend}: {system} {endpoint}: "
          f"{result['requests_per_second']:,.0f} req/s, p50 {latency['p50']:.1f} ms, "
          f"p99 {latency['p99']:.1f} ms, server CPU {server / result['seconds']:.2f} cores, "
          f"{cpu['server_us_per_request']:.0f} µs/request{database_note}{note}",
          file=sys.stderr)
    print(json.dumps({
        "backend": backend,
        "system": system,
        "endpoint": endpoint,
        "label": ENDPOINTS[endpoint],
        "round": int(round_),
        "at": now(),
        **result,
        "cpu": cpu,
    }))


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["help"]
    if command == "paths" and len(args) == 2:
        paths(*args)
    elif command == "check" and len(args) >= 2:
        check(args[0], args[1:])
    elif command == "setup":
        setup(args)
    elif command == "pg-ready" and len(args) == 1:
        pg(args[0], "ready")
    elif command in ("pg-create", "pg-drop") and len(args) == 2:
        pg(args[0], command[3:], args[1])
    elif command == "load" and len(args) > 7 and args[6] == "--":
        load(*args[:6], args[7:])
    else:
        sys.exit(__doc__)
