DROP TABLE identity_links;
DROP TABLE sso_login_states;
