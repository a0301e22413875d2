DELETE FROM api_tokens WHERE service_account_id IS NOT NULL;
DROP INDEX api_tokens_service_account_idx;
ALTER TABLE api_tokens
    DROP CONSTRAINT api_tokens_one_owner,
    DROP COLUMN service_account_id,
    ALTER COLUMN user_id SET NOT NULL;
DROP TABLE service_account_products;
DROP TABLE service_account_services;
DROP TABLE service_accounts;
