DROP TABLE exchange_rates;
DROP TABLE app_settings;
