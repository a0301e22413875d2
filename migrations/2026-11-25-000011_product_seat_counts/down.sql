DROP TRIGGER product_seat_counts_delete ON access_grants;
DROP TRIGGER product_seat_counts_update ON access_grants;
DROP TRIGGER product_seat_counts_insert ON access_grants;
DROP FUNCTION product_seat_counts_apply();
DROP TABLE product_seat_counts;
