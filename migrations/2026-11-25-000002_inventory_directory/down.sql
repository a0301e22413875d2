DROP INDEX users_full_name_idx, users_status_idx, users_department_idx, users_username_trgm, users_email_trgm, users_full_name_trgm;
DROP TABLE access_grants;
DROP TABLE product_admins;
DROP TABLE service_admins;
DROP TABLE products;
DROP TABLE services;
