//! The user directory: people, whether or not they can log in, with their roles. This
//! foundation holds what login and first-run need (creating a login user); the directory
//! pages arrive with the inventory and directory issue.

pub mod commands;
pub mod export;
pub mod grants;
pub mod model;
pub mod pages;
pub mod queries;
