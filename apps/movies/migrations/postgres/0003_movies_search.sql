-- Full-text search over titles: a generated tsvector (the `simple` configuration:
-- titles are names, so no stemming or stop words) with a GIN index.
ALTER TABLE movies
    ADD COLUMN title_search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', title)) STORED;

CREATE INDEX movies_title_search_idx ON movies USING GIN (title_search);
