-- A product may refuse grants beyond its purchased seats (a hard limit, where a licence
-- cannot be exceeded); by default going over is asked and confirmed.
ALTER TABLE products ADD COLUMN refuse_over_seats boolean NOT NULL DEFAULT false;
