//! sg-compliance: an AWS Config custom rule that keeps EC2 security groups honest.
//!
//! One engine serves the Lambda (`sg-compliance-lambda`) and the CLI (`sg-compliance`).
//! Raw input is parsed once into typed values ([`event`], [`params`]), security groups of either
//! source shape are normalised into one model ([`model`]), verdicts are pure functions ([`rules`]),
//! and AWS I/O lives behind one adapter ([`aws`]) that returns crate-owned types.

pub mod aws;
pub mod cli;
pub mod engine;
pub mod event;
pub mod exposure;
pub mod lambda;
pub mod model;
pub mod params;
pub mod ports;
pub mod rules;
