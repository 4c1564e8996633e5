-- Full-text search over titles: an FTS5 index whose content is the movies table,
-- kept in step with it by triggers.
CREATE VIRTUAL TABLE movies_fts USING fts5(
    title,
    content = 'movies',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    -- Every search word is a prefix query; indexes of 2- and 3-character
    -- prefixes halve their cost.
    prefix = '2 3'
);

INSERT INTO movies_fts (movies_fts) VALUES ('rebuild');

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
