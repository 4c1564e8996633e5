-- Statistics derived from the movies table by the movies ETL's last task.
CREATE TABLE movie_genre_stats (
    genre TEXT PRIMARY KEY,
    movies INTEGER NOT NULL,
    mean_imdb_rating DOUBLE PRECISION,
    mean_rotten_tomatoes_rating DOUBLE PRECISION
);

CREATE TABLE movie_year_stats (
    year INTEGER PRIMARY KEY,
    movies INTEGER NOT NULL,
    mean_imdb_rating DOUBLE PRECISION,
    mean_rotten_tomatoes_rating DOUBLE PRECISION
);
