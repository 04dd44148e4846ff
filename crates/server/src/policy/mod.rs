//! MFA policies: which methods a user must present, in what order and how often, and what
//! happens when they have none (docs/policies.md).
//!
//! [`model`] is the document an administrator writes (a global policy, per-organization
//! overrides, per-application rules; method chains with characteristics, re-authentication,
//! IBM-1/2/4 settings) and its validation, whose errors name the field. [`evaluate`] is a pure
//! function from a policy and the facts of one sign-in to what comes next; the sign-in flow and
//! the dry run call it.

pub mod evaluate;
pub mod model;

pub use evaluate::{
    evaluate, Decision, Enrolled, Next, Satisfied, Subject, TypingSignal, UserFacts,
};
pub use model::{Characteristic, Method, Policy, Settings, Traits};

#[cfg(test)]
mod tests;
