-- One row per film of vega-datasets' movies.json. `key` is the stable identity used
-- by loads (normalised title and release year), so re-running a load updates rows
-- instead of duplicating them.
CREATE TABLE movies (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    release_date TEXT,
    release_year INTEGER,
    mpaa_rating TEXT,
    running_time_min INTEGER,
    distributor TEXT,
    source TEXT,
    major_genre TEXT,
    creative_type TEXT,
    director TEXT,
    us_gross INTEGER,
    worldwide_gross INTEGER,
    us_dvd_sales INTEGER,
    production_budget INTEGER,
    rotten_tomatoes_rating INTEGER,
    imdb_rating REAL,
    imdb_votes INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX movies_major_genre_idx ON movies (major_genre);
CREATE INDEX movies_release_year_idx ON movies (release_year);
CREATE INDEX movies_imdb_rating_idx ON movies (imdb_rating);
CREATE INDEX movies_distributor_idx ON movies (distributor);
