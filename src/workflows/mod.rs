//! Onboarding and offboarding: templates of products, workflows that generate one grant
//! or revoke task per product for the right administrators, task pages, progress, the
//! offboarding evidence report, and the notifications that go with them.

pub mod assign;
pub mod commands;
pub mod handover;
pub mod pages;
pub mod queries;
pub mod template_pages;
