//! The domain layer: the words every other layer speaks, and nothing else. Ids
//! (`PersonId`, `ProductId` …, so two ids cannot be swapped), the states of things as enums
//! (`Role`, `EmploymentStatus`, `TaskStatus` …, stored as the text the columns have always
//! held), checked text (`text`: trimmed, bounded, never a card number), field errors without
//! HTTP (`FieldErrors`), money (exact decimals, ISO 4217 currencies, cycles), the card-number
//! detector and the clock.
//!
//! This is the leaf of the module graph: it imports nothing from the rest of the crate
//! (`tests/it/architecture.rs` fails if it does). Commands take requests made of these
//! types; each door (pages, API, imports) turns its own input into them.

pub mod card;
pub mod clock;
#[macro_use]
pub mod enums;
pub mod errors;
pub mod ids;
pub mod money;
pub mod scopes;
pub mod seats;
pub mod text;

pub use enums::*;
pub use errors::{Conflict, FieldErrors};
pub use ids::*;
pub use scopes::{ApiAccess, ApiArea, TokenScopes};
pub use seats::Seats;
