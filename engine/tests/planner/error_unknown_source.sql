-- A source that does not exist.
CREATE STREAM x AS SELECT * FROM nowhere;
