"""Renders bench/api results (JSON lines) as Markdown: per backend and endpoint,
Hangar against the faster of the FastAPI forms (medians over the rounds, with
Hangar's ratios), then every server's figures, then the goals, each measured in
the same run.

Each endpoint's throughput is also given as a share of its server's ceiling: the
req/s of the same server, on the same backend, answering `GET /healthz` (a
constant JSON body through the whole HTTP stack). CPU per request is the server's
CPU time (every process of it) divided by the requests it answered; on
PostgreSQL the database server's own CPU time per request is shown apart."""

import json
import statistics
import sys

NAMES = {
    "hangar": "Hangar",
    "fastapi": "FastAPI, `def` endpoints",
    "fastapi-async": "FastAPI, `async def` endpoints",
}
SHORT = {"fastapi": "def", "fastapi-async": "async def"}
BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
DISTURBED = 0.05
CEILING = "healthz"

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
runs = [r for r in rows if "endpoint" in r]
for r in runs:
    r.setdefault("backend", "sqlite")  # results from before there was a choice
setup = next((r for r in rows if r.get("kind") == "setup"), {})
backends = [b for b in BACKENDS if any(r["backend"] == b for r in runs)]
endpoints = list(dict.fromkeys(r["endpoint"] for r in runs))
endpoints.sort(key=lambda e: e != CEILING)
systems = [s for s in NAMES if any(r["system"] == s for r in runs)]


def name(backend, system):
    if backend == "postgres" and system == "fastapi-async":
        return "FastAPI + asyncpg, `async def` endpoints"
    return NAMES[system]


def of(backend, endpoint, system):
    return [r for r in runs if (r["backend"], r["endpoint"], r["system"]) == (backend, endpoint, system)]


def median(backend, endpoint, system, value):
    values = [v for v in map(value, of(backend, endpoint, system)) if v is not None]
    return statistics.median(values) if values else None


def rps(backend, endpoint, system):
    return median(backend, endpoint, system, lambda r: r["requests_per_second"])


def p(q):
    return lambda r: r["latency_ms"][q]


def us_per_request(r):
    cpu = r["cpu"]
    return cpu.get("server_us_per_request", cpu["server_seconds"] / r["requests"] * 1e6)


def database_us(r):
    return r["cpu"].get("database_us_per_request")


def share(backend, endpoint, system):
    """req/s as a share of the same server's ceiling."""
    ceiling = rps(backend, CEILING, system)
    here = rps(backend, endpoint, system)
    return here / ceiling if here is not None and ceiling else None


def rate(x):
    return "-" if x is None else f"{x:,.0f}"


def ms(x):
    if x is None:
        return "-"
    return f"{x:.1f} ms" if x < 10 else f"{x:.0f} ms"


def us(x):
    return "-" if x is None else f"{x:,.0f} µs"


def percent(x):
    return "-" if x is None else f"{x:.0%}"


def ratio(a, b):
    return f"{a / b:.1f}×" if a is not None and b else "-"


def label(endpoint):
    return next(r["label"] for r in runs if r["endpoint"] == endpoint)


if setup:
    counts = [f"{int(setup[f'movies_{b}']):,} movies ({BACKENDS[b]})"
              for b in BACKENDS if f"movies_{b}" in setup]
    if not counts and "movies" in setup:
        counts = [f"{setup['movies']:,} movies"]
    postgres = setup.get("postgres", "-")
    print(f"{', '.join(counts)}; wrk -t{setup['threads']} -c{setup['connections']} "
          f"-d{setup['duration']}, medians of {setup['rounds']} round(s); Hangar {setup['hangar']}; "
          f"FastAPI {setup['fastapi']}, Pydantic {setup['pydantic']}, uvicorn {setup['uvicorn']} "
          f"with {setup['uvicorn_workers']} workers, Python {setup['python']}"
          + (f"; asyncpg {setup['asyncpg']} ({setup['asyncpg_pool']} connections a worker), "
             f"PostgreSQL {postgres}" if "postgres" in backends else "")
          + f"; {setup['cpus']} CPUs")
    print()

print("| backend | endpoint | Hangar req/s | FastAPI req/s | × FastAPI | Hangar % of ceiling "
      "| FastAPI % of ceiling | Hangar p50 | FastAPI p50 | Hangar p99 | FastAPI p99 "
      "| FastAPI p99 ÷ Hangar p99 | Hangar CPU/request | FastAPI CPU/request |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for backend in backends:
    for endpoint in endpoints:
        forms = [s for s in ("fastapi", "fastapi-async") if of(backend, endpoint, s)]
        if not forms and not of(backend, endpoint, "hangar"):
            continue
        best = max(forms, key=lambda s: rps(backend, endpoint, s)) if forms else None

        def both(value):
            h = median(backend, endpoint, "hangar", value)
            return h, median(backend, endpoint, best, value) if best else None

        h, f = both(lambda r: r["requests_per_second"])
        h50, f50 = both(p("p50"))
        h99, f99 = both(p("p99"))
        hcpu, fcpu = both(us_per_request)
        hshare = share(backend, endpoint, "hangar")
        fshare = share(backend, endpoint, best) if best else None
        form = f" ({SHORT[best]})" if len(forms) > 1 else ""
        print(f"| {BACKENDS[backend]} | {label(endpoint)} | {rate(h)} | {rate(f)}{form} "
              f"| {ratio(h, f)} | {percent(hshare)} | {percent(fshare)} | {ms(h50)} | {ms(f50)} "
              f"| {ms(h99)} | {ms(f99)} | {ratio(f99, h99)} | {us(hcpu)} | {us(fcpu)} |")

print()
print("| backend | endpoint | server | req/s (median) | req/s (range) | % of ceiling | p50 | p99 "
      "| server CPU | server CPU/request | database CPU/request | disturbed runs |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for backend in backends:
    for endpoint in endpoints:
        for system in systems:
            these = of(backend, endpoint, system)
            if not these:
                continue
            rates = [r["requests_per_second"] for r in these]
            cores = median(backend, endpoint, system,
                           lambda r: r["cpu"]["server_seconds"] / r["seconds"])
            disturbed = sum(r["cpu"]["other_share"] > DISTURBED for r in these)
            print(f"| {BACKENDS[backend]} | {these[0]['label']} | {name(backend, system)} "
                  f"| {rate(statistics.median(rates))} | {rate(min(rates))}–{rate(max(rates))} "
                  f"| {percent(share(backend, endpoint, system))} "
                  f"| {ms(median(backend, endpoint, system, p('p50')))} "
                  f"| {ms(median(backend, endpoint, system, p('p99')))} | {cores:.2f} cores "
                  f"| {us(median(backend, endpoint, system, us_per_request))} "
                  f"| {us(median(backend, endpoint, system, database_us))} "
                  f"| {disturbed} of {len(these)} |")


# The goals: (what, measured value as text, met: True, False or None when not measured).
GOAL_NAMES = {"detail": "movie by id", "search_star": "search `q=star`",
              "search_mixed": "search, 5 queries in turn"}


def throughput_goal(backend, endpoint, factor):
    h, f = rps(backend, endpoint, "hangar"), rps(backend, endpoint, "fastapi-async")
    against = "FastAPI + asyncpg" if backend == "postgres" else "FastAPI `async def`"
    what = f"{GOAL_NAMES[endpoint]}, {BACKENDS[backend]}: Hangar ≥ {factor}× {against} req/s"
    if h is None or not f:
        return what, "not measured", None
    return what, f"{h / f:.2f}× ({rate(h)} against {rate(f)})", h >= factor * f


goals = [throughput_goal("sqlite", "detail", 4)]
s = share("sqlite", "detail", "hangar")
goals.append(("movie by id, SQLite: Hangar ≥ 40% of its `/healthz` ceiling",
              "not measured" if s is None else
              f"{s:.1%} ({rate(rps('sqlite', 'detail', 'hangar'))} of "
              f"{rate(rps('sqlite', CEILING, 'hangar'))})",
              None if s is None else s >= 0.40))
h99 = median("sqlite", "detail", "hangar", p("p99"))
f99 = median("sqlite", "detail", "fastapi-async", p("p99"))
goals.append(("movie by id, SQLite: Hangar p99 ≤ ⅓ of FastAPI `async def` p99",
              "not measured" if h99 is None or f99 is None else
              f"{h99 / f99:.2f} of it ({ms(h99)} against {ms(f99)})",
              None if h99 is None or f99 is None else h99 * 3 <= f99))
goals.append(throughput_goal("sqlite", "search_star", 2.5))
goals.append(throughput_goal("sqlite", "search_mixed", 2.5))
goals.append(throughput_goal("postgres", "detail", 3))
cpu = median("sqlite", "detail", "hangar", us_per_request)
goals.append(("movie by id, SQLite: Hangar CPU per request ≤ 30 µs",
              "not measured" if cpu is None else us(cpu),
              None if cpu is None else cpu <= 30))

print()
print("| goal | measured | met |")
print("|---|---|---|")
for what, measured, met in goals:
    print(f"| {what} | {measured} | {'-' if met is None else 'met' if met else 'not met'} |")
