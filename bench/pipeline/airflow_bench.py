"""Apache Airflow side of the pipeline benchmark.

Runs Airflow 2 with its LocalExecutor (metadata in a PostgreSQL database of its
own), with two DAGs of PythonOperator tasks that sleep a few milliseconds: a chain
and a fan-out. Each shape is triggered RUNS times, one after another; a run's wall
time is its `end_date - queued_at` from Airflow's own records. Prints one JSON
line per shape.

  python airflow_bench.py --chain 40 --width 10 --sleep-ms 10 --runs 2
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import psycopg2

DAGS = textwrap.dedent('''
    import time
    from datetime import datetime

    from airflow import DAG
    from airflow.operators.python import PythonOperator

    SLEEP = {sleep}

    def work():
        time.sleep(SLEEP)

    with DAG("chain", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as chain:
        previous = None
        for i in range({chain}):
            task = PythonOperator(task_id=f"t{{i}}", python_callable=work)
            if previous is not None:
                previous >> task
            previous = task

    with DAG("fanout", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as fanout:
        for i in range({width}):
            PythonOperator(task_id=f"t{{i}}", python_callable=work)
''')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chain", type=int, default=40)
    parser.add_argument("--width", type=int, default=10)
    parser.add_argument("--sleep-ms", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    database = f"airflow_bench_{os.getpid()}"
    admin = psycopg2.connect(args.postgres)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {database}")
    url = args.postgres.rsplit("/", 1)[0] + "/" + database
    home = tempfile.mkdtemp(prefix="airflow-bench-")
    os.makedirs(f"{home}/dags")
    with open(f"{home}/dags/bench_dags.py", "w") as f:
        f.write(DAGS.format(sleep=args.sleep_ms / 1000, chain=args.chain, width=args.width))
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "32",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url.replace("postgresql://", "postgresql+psycopg2://"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    })
    airflow = [sys.executable, "-m", "airflow"]
    scheduler = None
    try:
        subprocess.run(airflow + ["db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        scheduler = subprocess.Popen(airflow + ["scheduler"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        db = psycopg2.connect(url)
        db.autocommit = True
        cursor = db.cursor()
        deadline = time.time() + 300
        while True:
            cursor.execute("SELECT COUNT(*) FROM dag WHERE dag_id IN ('chain', 'fanout') AND is_active")
            if cursor.fetchone()[0] == 2:
                break
            if time.time() > deadline:
                raise SystemExit("Airflow did not load the DAGs within 5 minutes")
            time.sleep(1)
        for shape, tasks, serial in (("chain", args.chain, args.chain), ("fanout", args.width, 1)):
            walls = []
            for i in range(args.runs):
                run_id = f"bench_{shape}_{i}"
                subprocess.run(airflow + ["dags", "trigger", shape, "-r", run_id], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                while True:
                    cursor.execute(
                        "SELECT state, EXTRACT(EPOCH FROM end_date - queued_at) FROM dag_run "
                        "WHERE dag_id = %s AND run_id = %s", (shape, run_id))
                    row = cursor.fetchone()
                    if row and row[0] in ("success", "failed"):
                        if row[0] != "success":
                            raise SystemExit(f"Airflow run {run_id} {row[0]}")
                        walls.append(float(row[1]))
                        break
                    time.sleep(0.5)
                print(f"airflow {shape} run {i + 1}: {walls[-1]:.1f}s", file=sys.stderr)
            median = statistics.median(walls)
            work = serial * args.sleep_ms / 1000
            print(json.dumps({
                "system": "airflow",
                "backend": "2.10.5, LocalExecutor, PostgreSQL",
                "shape": shape,
                "tasks": tasks,
                "sleep_ms": args.sleep_ms,
                "runs": args.runs,
                "wall_seconds": median,
                "overhead_ms_per_task": (median - work) * 1000 / tasks,
                "all_wall_seconds": walls,
            }), flush=True)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            try:
                scheduler.wait(timeout=60)
            except subprocess.TimeoutExpired:
                scheduler.kill()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
