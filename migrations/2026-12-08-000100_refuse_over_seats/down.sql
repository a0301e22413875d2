ALTER TABLE products DROP COLUMN refuse_over_seats;
