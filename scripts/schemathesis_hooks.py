"""Schemathesis hooks for scripts/schemathesis: what a JSON Schema cannot say.

`before_call` runs before every request of every phase, and Schemathesis
re-validates the case after it, so a case it turns valid is checked as valid.

- A client sends a fresh Idempotency-Key with each new request; the same key
  with another body is refused (422 idempotency-key-reused) by design, which
  generated data would otherwise do by chance. Well-formed keys are made fresh;
  malformed ones are left for the negative cases. Reused and malformed keys are
  tested in crates/hangar-api/tests/conformance.rs and apps/movies/tests/api.rs.
- A cursor is opaque: only a `next_cursor` the server handed out is valid, so a
  well-formed generated one is dropped. Paging is tested in
  apps/movies/tests/api.rs.
- A range whose minimum is above its maximum (`year_min` > `year_max`) is refused
  with a 400 naming both; generated ranges are put in order.
"""
import re
import uuid

import schemathesis

KEY = re.compile(r"^[!-~]{1,255}$")
CURSOR = re.compile(r"^[A-Za-z0-9_-]+$")
RANGES = (("year_min", "year_max"), ("rating_min", "rating_max"))


def number(value):
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@schemathesis.hook
def before_call(ctx, case, kwargs):
    headers = case.headers
    if headers:
        for name in list(headers):
            if name.lower() == "idempotency-key" and KEY.match(str(headers[name])):
                headers[name] = str(uuid.uuid4())
    query = case.query
    if query:
        cursor = query.get("cursor")
        if isinstance(cursor, str) and CURSOR.match(cursor):
            del query["cursor"]
        for low, high in RANGES:
            a, b = number(query.get(low)), number(query.get(high))
            if a is not None and b is not None and a > b:
                query[low], query[high] = query[high], query[low]
