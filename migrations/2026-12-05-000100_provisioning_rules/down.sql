DROP TABLE provisioning_scopes;
ALTER TABLE scim_users DROP COLUMN role_before_rules;
ALTER TABLE scim_users DROP COLUMN role_from_rules;
ALTER TABLE scim_users DROP COLUMN start_date_sent;
DROP TABLE provisioning_effects;
DROP TABLE provisioning_rules;
