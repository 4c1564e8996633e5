"""Renders bench/api results (JSON lines) as Markdown: per endpoint, Hangar against
the faster of the two FastAPI forms (medians over the rounds, with Hangar's ratios),
then every server's figures."""

import json
import statistics
import sys

NAMES = {
    "hangar": "Hangar",
    "fastapi": "FastAPI, `def` endpoints",
    "fastapi-async": "FastAPI, `async def` endpoints",
}
SHORT = {"fastapi": "def", "fastapi-async": "async def"}
DISTURBED = 0.05

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
runs = [r for r in rows if "endpoint" in r]
setup = next((r for r in rows if r.get("kind") == "setup"), {})
endpoints = list(dict.fromkeys(r["endpoint"] for r in runs))
systems = [s for s in NAMES if any(r["system"] == s for r in runs)]


def of(endpoint, system):
    return [r for r in runs if (r["endpoint"], r["system"]) == (endpoint, system)]


def median(endpoint, system, value):
    values = [value(r) for r in of(endpoint, system)]
    return statistics.median(values) if values else None


def rps(endpoint, system):
    return median(endpoint, system, lambda r: r["requests_per_second"])


def p(q):
    return lambda r: r["latency_ms"][q]


def rate(x):
    return "-" if x is None else f"{x:,.0f}"


def ms(x):
    if x is None:
        return "-"
    return f"{x:.1f} ms" if x < 10 else f"{x:.0f} ms"


def ratio(a, b):
    return f"{a / b:.1f}×" if a is not None and b else "-"


if setup:
    print(f"{setup['movies']:,} movies; wrk -t{setup['threads']} -c{setup['connections']} "
          f"-d{setup['duration']}, medians of {setup['rounds']} round(s); Hangar {setup['hangar']}; "
          f"FastAPI {setup['fastapi']}, Pydantic {setup['pydantic']}, uvicorn {setup['uvicorn']} "
          f"with {setup['uvicorn_workers']} workers, Python {setup['python']}; "
          f"{setup['cpus']} CPUs")
    print()

print("| endpoint | Hangar req/s | FastAPI req/s | × FastAPI | Hangar p50 | FastAPI p50 "
      "| Hangar p99 | FastAPI p99 | FastAPI p99 ÷ Hangar p99 |")
print("|---|---|---|---|---|---|---|---|---|")
for endpoint in endpoints:
    label = of(endpoint, next(s for s in systems if of(endpoint, s)))[0]["label"]
    forms = [s for s in ("fastapi", "fastapi-async") if of(endpoint, s)]
    best = max(forms, key=lambda s: rps(endpoint, s)) if forms else None
    h, f = rps(endpoint, "hangar"), rps(endpoint, best) if best else None
    h50, h99 = median(endpoint, "hangar", p("p50")), median(endpoint, "hangar", p("p99"))
    f50 = median(endpoint, best, p("p50")) if best else None
    f99 = median(endpoint, best, p("p99")) if best else None
    form = f" ({SHORT[best]})" if len(forms) > 1 else ""
    print(f"| {label} | {rate(h)} | {rate(f)}{form} | {ratio(h, f)} | {ms(h50)} | {ms(f50)} "
          f"| {ms(h99)} | {ms(f99)} | {ratio(f99, h99)} |")

print()
print("| endpoint | server | req/s (median) | req/s (range) | p50 | p99 | server CPU | disturbed runs |")
print("|---|---|---|---|---|---|---|---|")
for endpoint in endpoints:
    for system in systems:
        these = of(endpoint, system)
        if not these:
            continue
        rates = [r["requests_per_second"] for r in these]
        cores = median(endpoint, system, lambda r: r["cpu"]["server_seconds"] / r["seconds"])
        disturbed = sum(r["cpu"]["other_share"] > DISTURBED for r in these)
        print(f"| {these[0]['label']} | {NAMES[system]} | {rate(statistics.median(rates))} "
              f"| {rate(min(rates))}–{rate(max(rates))} | {ms(median(endpoint, system, p('p50')))} "
              f"| {ms(median(endpoint, system, p('p99')))} | {cores:.2f} cores "
              f"| {disturbed} of {len(these)} |")
