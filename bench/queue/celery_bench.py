"""Celery side of the queue benchmark: no-op tasks on RabbitMQ.

  python celery_bench.py burn --jobs 100000
  python celery_bench.py steady --rate 2000 --seconds 15

Tasks are acknowledged late (after they run), like Hangar's jobs, so a worker
killed mid-task does not lose it. Completions are counted in Redis (one INCR per
task; steady mode also records each task's pickup latency). Prints one JSON line.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import redis
from celery import Celery

BROKER = os.environ.get("CELERY_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")
QUEUE = f"celery-bench-{os.getpid()}"
PREFIX = "celery-bench"

app = Celery("celery_bench", broker=BROKER)
app.conf.update(
    task_acks_late=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
store = redis.Redis.from_url(REDIS)


@app.task(name="bench.noop")
def noop(enqueued_at=None, key=None):
    if enqueued_at is not None:
        store.rpush(f"{key}:pickup", time.time() - enqueued_at)
    store.incr(f"{key}:done")


def start_worker(queue, pool, concurrency):
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_bench", "worker", "-Q", queue,
         "-P", pool, "-c", str(concurrency), "--loglevel", "WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        cwd=os.path.dirname(os.path.abspath(__file__)),
        stdout=subprocess.DEVNULL,
    )


def wait_first(key, limit=120):
    """Waits for the first completion: the worker is up."""
    started = time.time()
    while int(store.get(f"{key}:done") or 0) < 1:
        if time.time() - started > limit:
            raise SystemExit("the worker did not start")
        time.sleep(0.005)


def wait_done(key, expected, limit=900):
    started = time.time()
    while int(store.get(f"{key}:done") or 0) < expected:
        if time.time() - started > limit:
            raise SystemExit(f"only {int(store.get(f'{key}:done') or 0)} of {expected} tasks done")
        time.sleep(0.02)


def percentile(values, p):
    if not values:
        return 0
    values = sorted(values)
    return values[int((len(values) - 1) * p)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["burn", "steady"])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--pool", default="prefork")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    key = f"{PREFIX}:{os.getpid()}"
    store.delete(f"{key}:done", f"{key}:pickup")
    worker = None
    try:
        if args.mode == "burn":
            started = time.time()
            with app.producer_or_acquire() as producer:
                for _ in range(args.jobs):
                    noop.apply_async(kwargs={"key": key}, queue=QUEUE, producer=producer)
            print(f"published {args.jobs} tasks in {time.time() - started:.1f}s", file=sys.stderr)
            worker = start_worker(QUEUE, args.pool, args.concurrency)
            # Timed from the first completion, so the worker's boot is not counted.
            wait_first(key)
            started = time.time()
            wait_done(key, args.jobs)
            wall = time.time() - started
            total = args.jobs - 1
            pickups = []
        else:
            worker = start_worker(QUEUE, args.pool, args.concurrency)
            time.sleep(3)  # let the worker connect before load starts
            total = args.rate * args.seconds
            started = time.time()
            sent = 0
            tick = 0.01
            per_tick = max(1, args.rate // 100)
            next_tick = time.time()
            with app.producer_or_acquire() as producer:
                while sent < total:
                    for _ in range(min(per_tick, total - sent)):
                        noop.apply_async(kwargs={"key": key, "enqueued_at": time.time()}, queue=QUEUE, producer=producer)
                    sent += per_tick
                    next_tick += tick
                    pause = next_tick - time.time()
                    if pause > 0:
                        time.sleep(pause)
            wait_done(key, total)
            wall = time.time() - started
            pickups = [float(x) * 1000 for x in store.lrange(f"{key}:pickup", 0, -1)]
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
        with app.connection_or_acquire() as conn:
            conn.default_channel.queue_delete(QUEUE)
        store.delete(f"{key}:done", f"{key}:pickup")
    print(json.dumps({
        "system": "celery",
        "backend": f"rabbitmq ({args.pool} x{args.concurrency})",
        "mode": args.mode,
        "jobs": args.jobs if args.mode == "burn" else total,
        "concurrency": args.concurrency,
        "seconds": wall,
        "jobs_per_second": total / wall,
        "pickup_p50_ms": round(percentile(pickups, 0.50)),
        "pickup_p99_ms": round(percentile(pickups, 0.99)),
    }))


if __name__ == "__main__":
    main()
