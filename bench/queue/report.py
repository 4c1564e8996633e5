"""Renders bench/queue results (JSON lines) as a Markdown table with ratios to Celery."""

import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = {(r["system"], r["mode"]): r for r in rows if r["system"] == "celery"}
celery_burn = by.get(("celery", "burn"), {}).get("jobs_per_second")
celery_p99 = by.get(("celery", "steady"), {}).get("pickup_p99_ms")

systems = []
for r in rows:
    key = (r["system"], r["backend"])
    if key not in systems:
        systems.append(key)

print("| system | burn-down jobs/s | × Celery | steady jobs/s done (of the rate offered) | pickup p50 | pickup p99 |")
print("|---|---|---|---|---|---|")
for system, backend in systems:
    burn = next((r for r in rows if (r["system"], r["backend"], r["mode"]) == (system, backend, "burn")), None)
    steady = next((r for r in rows if (r["system"], r["backend"], r["mode"]) == (system, backend, "steady")), None)
    name = f"{'Hangar' if system == 'hangar' else 'Celery 5'}, {backend}"
    burn_rate = f"{burn['jobs_per_second']:,.0f}" if burn else "-"
    ratio = f"{burn['jobs_per_second'] / celery_burn:.1f}×" if burn and celery_burn else "-"
    if steady:
        offered = steady["jobs"] / steady["seconds"]
        steady_rate = f"{offered:,.0f}"
        p50 = f"{steady['pickup_p50_ms']} ms"
        p99 = f"{steady['pickup_p99_ms']} ms"
    else:
        steady_rate = p50 = p99 = "-"
    print(f"| {name} | {burn_rate} | {ratio} | {steady_rate} | {p50} | {p99} |")
