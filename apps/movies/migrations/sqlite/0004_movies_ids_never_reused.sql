-- The id of a deleted film is never handed out again. Without AUTOINCREMENT,
-- SQLite gives a new row the largest rowid + 1, so deleting the newest film and
-- adding another reused its id: a client holding the old id would see another
-- film. The table is rebuilt with AUTOINCREMENT, keeping every id.
DROP TRIGGER movies_fts_insert;
DROP TRIGGER movies_fts_delete;
DROP TRIGGER movies_fts_update;

CREATE TABLE movies_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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

INSERT INTO movies_rebuilt (id, key, title, release_date, release_year, mpaa_rating, running_time_min, distributor, source, major_genre, creative_type, director, us_gross, worldwide_gross, us_dvd_sales, production_budget, rotten_tomatoes_rating, imdb_rating, imdb_votes, created_at, updated_at)
SELECT id, key, title, release_date, release_year, mpaa_rating, running_time_min, distributor, source, major_genre, creative_type, director, us_gross, worldwide_gross, us_dvd_sales, production_budget, rotten_tomatoes_rating, imdb_rating, imdb_votes, created_at, updated_at FROM movies;

DROP TABLE movies;
ALTER TABLE movies_rebuilt RENAME TO movies;

CREATE INDEX movies_major_genre_idx ON movies (major_genre);
CREATE INDEX movies_release_year_idx ON movies (release_year);
CREATE INDEX movies_imdb_rating_idx ON movies (imdb_rating);
CREATE INDEX movies_distributor_idx ON movies (distributor);

CREATE TRIGGER movies_fts_insert AFTER INSERT ON movies BEGIN
    INSERT INTO movies_fts (rowid, title) VALUES (new.id, new.title);
END;

CREATE TRIGGER movies_fts_delete AFTER DELETE ON movies BEGIN
    INSERT INTO movies_fts (movies_fts, rowid, title) VALUES ('delete', old.id, old.title);
END;

CREATE TRIGGER movies_fts_update AFTER UPDATE OF title ON movies BEGIN
    INSERT INTO movies_fts (movies_fts, rowid, title) VALUES ('delete', old.id, old.title);
    INSERT INTO movies_fts (rowid, title) VALUES (new.id, new.title);
END;

INSERT INTO movies_fts (movies_fts) VALUES ('rebuild');
