-- Statistics derived from the movies table by the movies ETL's last task.
CREATE TABLE movie_genre_stats (
    genre TEXT PRIMARY KEY,
    movies INTEGER NOT NULL,
    mean_imdb_rating REAL,
    mean_rotten_tomatoes_rating REAL
);

CREATE TABLE movie_year_stats (
    year INTEGER PRIMARY KEY,
    movies INTEGER NOT NULL,
    mean_imdb_rating REAL,
    mean_rotten_tomatoes_rating REAL
);
