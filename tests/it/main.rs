//! The one integration-test binary: every module drives the real app over HTTP against a
//! real PostgreSQL.

mod common;

mod api;
mod architecture;
mod audit;
mod auth;
mod authz_matrix;
mod browser;
mod bulk_access;
mod calendar;
mod cards;
mod cluster;
mod demo;
mod derived;
mod directory;
mod history;
mod imports;
mod inventory;
mod invitations;
mod okta_replay;
mod operations;
mod payments;
mod person_grants;
mod provisioning;
mod reminders;
mod scim;
mod security;
mod service_accounts;
mod sessions;
mod setup;
mod sso;
mod tokens;
mod two_factor;
mod usage;
mod workflows;
