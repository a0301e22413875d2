//! The one integration-test binary: every module drives the real app over HTTP against a
//! real PostgreSQL.

mod common;

mod audit;
mod auth;
mod browser;
mod operations;
mod security;
mod sessions;
mod setup;
