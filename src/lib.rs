//! sg-compliance: an AWS Config custom rule that keeps EC2 security groups honest.
//!
//! One engine serves the Lambda (`sg-compliance-lambda`) and the CLI (`sg-compliance`), as
//! cfn-guard's do. Raw input is parsed once into typed values, security groups of either source shape
//! are normalised into one model, verdicts are pure functions, and AWS I/O lives behind one adapter
//! that returns crate-owned types.
//!
//! | module | role |
//! |---|---|
//! | [`event`] | the Config rule event (`invokingEvent`/`ruleParameters` are JSON strings), three message types |
//! | [`params`] | rule parameters validated into one typed [`params::Check`] |
//! | [`model`] | the security-group model and one parser per source shape |
//! | [`ports`] | port ranges and port lists |
//! | [`exposure`] | set semantics: the union of sources per protocol and port interval |
//! | [`rules`] | pure verdicts, one module per check |
//! | [`engine`] | event + check → evaluations, behind the [`engine::Cloud`] trait |
//! | [`aws`] | the only module that calls AWS (Config, EC2, STS) |
//! | [`lambda`] | the Lambda handler: clients built once, organization-mode role assumption |
//! | [`cli`] | the `sg-compliance` command line |

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
