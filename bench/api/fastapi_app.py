"""The movies API of Hangar's movies app, written the way a FastAPI service would
be: Pydantic response models and the standard library's sqlite3 with one
connection per thread, in two forms (see `create_app`): `app` with plain `def`
endpoints, which FastAPI runs in its thread pool, and `app_async` with `async def`
endpoints. It reads the SQLite file Hangar's ETL filled, named by MOVIES_DB.
A third form, `app_asyncpg`, serves the same endpoints with `async def` from
the PostgreSQL database Hangar's ETL filled, named by MOVIES_POSTGRES_URL,
through an asyncpg pool per process (MOVIES_POSTGRES_POOL connections, 5 unless
set), with Hangar's own PostgreSQL search statement.

  MOVIES_DB=movies.db uvicorn fastapi_app:app --workers 2 --no-access-log
  MOVIES_DB=movies.db uvicorn fastapi_app:app_async ...   (async def endpoints)
  MOVIES_POSTGRES_URL=postgres://... uvicorn fastapi_app:app_asyncpg ...

  GET /api/v1/movies?q=<text>&limit=<n>&cursor=<c>   full-text search on titles
  GET /api/v1/movies/{id}                            one movie, or 404
  GET /healthz                                       a constant JSON body, the
                                                     bench's ceiling
"""

import base64
import json
import os
import re
import sqlite3
import threading
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated

import asyncpg
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

DATABASE = os.environ.get("MOVIES_DB", "")

COLUMNS = (
    "m.id, m.title, m.release_date, m.release_year, m.mpaa_rating, m.running_time_min, "
    "m.distributor, m.source, m.major_genre, m.creative_type, m.director, m.us_gross, "
    "m.worldwide_gross, m.us_dvd_sales, m.production_budget, m.rotten_tomatoes_rating, "
    "m.imdb_rating, m.imdb_votes"
)
SEARCH = (
    f"SELECT {COLUMNS}, bm25(movies_fts) AS rank "
    "FROM movies_fts JOIN movies m ON m.id = movies_fts.rowid "
    "WHERE movies_fts MATCH ? {after} ORDER BY rank, m.id LIMIT ?"
)
FIRST_PAGE = SEARCH.format(after="")
NEXT_PAGE = SEARCH.format(after="AND (rank > ? OR (rank = ? AND m.id > ?))")
ONE = f"SELECT {COLUMNS} FROM movies m WHERE m.id = ?"

# PostgreSQL: the statement Hangar's movies app runs for a title search
# (apps/movies/src/query/search.rs), so that both order the same films alike;
# a page continues at a position, as there.
PG_SEARCH = (
    f"SELECT {COLUMNS} FROM movies m CROSS JOIN to_tsquery('simple', $1) AS query "
    "WHERE m.title_search @@ query "
    "ORDER BY (-CAST(ts_rank(m.title_search, query) AS DOUBLE PRECISION)), m.id "
    "LIMIT $2 OFFSET $3"
)
PG_ONE = f"SELECT {COLUMNS} FROM movies m WHERE m.id = $1"

ALIVE = {"status": "alive"}

TOKEN = re.compile(r"[^\W_]+")


class Movie(BaseModel):
    id: int
    title: str
    release_date: date | None
    release_year: int | None
    mpaa_rating: str | None
    running_time_min: int | None
    distributor: str | None
    source: str | None
    major_genre: str | None
    creative_type: str | None
    director: str | None
    us_gross: int | None
    worldwide_gross: int | None
    us_dvd_sales: int | None
    production_budget: int | None
    rotten_tomatoes_rating: int | None
    imdb_rating: float | None
    imdb_votes: int | None


class MoviePage(BaseModel):
    items: list[Movie]
    next_cursor: str | None


class Problem(Exception):
    """An RFC 9457 problem document, as Hangar answers errors."""

    def __init__(self, status: int, kind: str, title: str, detail: str):
        self.body = {"type": f"urn:hangar:problem:{kind}", "title": title,
                     "status": status, "detail": detail}


local = threading.local()


async def problem_response(_request: Request, problem: Problem) -> JSONResponse:
    return JSONResponse(problem.body, status_code=problem.body["status"],
                        media_type="application/problem+json")


def db() -> sqlite3.Connection:
    """This thread's connection (sqlite3 connections must stay on one thread)."""
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(DATABASE)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        local.conn = conn
    return conn


def match_expression(q: str) -> str:
    """Each alphanumeric token as a quoted prefix, all required: `"the"* "man"*`."""
    return " ".join(f'"{token}"*' for token in TOKEN.findall(q))


def tsquery(q: str) -> str:
    """Each alphanumeric token as a required prefix: `the:* & man:*`."""
    return " & ".join(f"{token.lower()}:*" for token in TOKEN.findall(q))


def encode_cursor(rank: float, movie_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([rank, movie_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        rank, movie_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return float(rank), int(movie_id)
    except (ValueError, TypeError) as e:
        raise HTTPException(400, "cursor is not one this API gave") from e


def search(q: str, limit: int, cursor: str | None) -> dict:
    expression = match_expression(q)
    if not expression:
        raise no_words()
    if cursor is None:
        rows = db().execute(FIRST_PAGE, (expression, limit + 1)).fetchall()
    else:
        rank, after = decode_cursor(cursor)
        rows = db().execute(NEXT_PAGE, (expression, rank, rank, after, limit + 1)).fetchall()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["rank"], rows[-1]["id"])
    return {"items": [dict(row) for row in rows], "next_cursor": next_cursor}


def movie(movie_id: int) -> dict:
    row = db().execute(ONE, (movie_id,)).fetchone()
    if row is None:
        raise Problem(404, "not-found", "Not found", f"no movie with id {movie_id}")
    return dict(row)


def no_words() -> Problem:
    return Problem(400, "invalid-request", "Invalid request",
                   "q: give at least one word of letters or digits")


Q = Annotated[str, Query(min_length=1, max_length=200)]
LIMIT = Annotated[int, Query(ge=1, le=100)]


def create_app(blocking_in_event_loop: bool) -> FastAPI:
    """The API. FastAPI's documented way for a blocking driver is `def` endpoints,
    which it runs in its thread pool; with `blocking_in_event_loop` they are
    `async def` and query SQLite on the event loop itself, which is faster when
    each query takes well under a millisecond, at the price of stalling every other
    request of the process while one runs."""
    app = FastAPI(title="movies")
    app.add_exception_handler(Problem, problem_response)

    if blocking_in_event_loop:
        @app.get("/healthz")
        async def healthz():
            return ALIVE

        @app.get("/api/v1/movies", response_model=MoviePage)
        async def search_movies(q: Q, limit: LIMIT = 20, cursor: str | None = None):
            return search(q, limit, cursor)

        @app.get("/api/v1/movies/{movie_id}", response_model=Movie)
        async def get_movie(movie_id: int):
            return movie(movie_id)
    else:
        @app.get("/healthz")
        def healthz():
            return ALIVE

        @app.get("/api/v1/movies", response_model=MoviePage)
        def search_movies(q: Q, limit: LIMIT = 20, cursor: str | None = None):
            return search(q, limit, cursor)

        @app.get("/api/v1/movies/{movie_id}", response_model=Movie)
        def get_movie(movie_id: int):
            return movie(movie_id)

    return app


def create_asyncpg_app() -> FastAPI:
    """The API over PostgreSQL with asyncpg: `async def` endpoints awaiting a pool
    opened when the process starts (one pool per uvicorn worker)."""
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        nonlocal pool
        size = int(os.environ.get("MOVIES_POSTGRES_POOL", "5"))
        pool = await asyncpg.create_pool(os.environ["MOVIES_POSTGRES_URL"],
                                         min_size=size, max_size=size)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="movies", lifespan=lifespan)
    app.add_exception_handler(Problem, problem_response)

    @app.get("/healthz")
    async def healthz():
        return ALIVE

    @app.get("/api/v1/movies", response_model=MoviePage)
    async def search_movies(q: Q, limit: LIMIT = 20, cursor: str | None = None):
        query = tsquery(q)
        if not query:
            raise no_words()
        offset = 0 if cursor is None else decode_position(cursor)
        rows = await pool.fetch(PG_SEARCH, query, limit + 1, offset)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_position(offset + limit)
        return {"items": [dict(row) for row in rows], "next_cursor": next_cursor}

    @app.get("/api/v1/movies/{movie_id}", response_model=Movie)
    async def get_movie(movie_id: int):
        row = await pool.fetchrow(PG_ONE, movie_id)
        if row is None:
            raise Problem(404, "not-found", "Not found", f"no movie with id {movie_id}")
        return dict(row)

    return app


def encode_position(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decode_position(cursor: str) -> int:
    try:
        position = int(json.loads(base64.urlsafe_b64decode(cursor.encode())))
    except (ValueError, TypeError) as e:
        raise HTTPException(400, "cursor is not one this API gave") from e
    if position < 0:
        raise HTTPException(400, "cursor is not one this API gave")
    return position


app = create_app(blocking_in_event_loop=False)
app_async = create_app(blocking_in_event_loop=True)
app_asyncpg = create_asyncpg_app()
