//! sg-compliance: an AWS Config custom rule that keeps EC2 security groups honest.
//!
//! One engine serves the Lambda (`sg-compliance-lambda`) and the CLI (`sg-compliance`), as
//! cfn-guard's do. Raw input is parsed once into typed values, security groups of every source shape
//! are normalised into one model, verdicts are pure functions, and AWS I/O lives behind one port.
//! `ARCHITECTURE.md` draws the layers; the import graph is a tree, from the bottom up:
//!
//! | module | role |
//! |---|---|
//! | [`ports`] | port ranges and port lists |
//! | [`model`] | the security-group model, one parser per source shape |
//! | [`exposure`] | set semantics: who reaches which protocol and port, as a value |
//! | [`fix`] | plans of exact EC2 calls, applied to the model with EC2's semantics |
//! | [`verdict`] | findings → COMPLIANT / NON_COMPLIANT / NOT_APPLICABLE (`scan` adds INSUFFICIENT_DATA) and a ≤256-char annotation |
//! | [`params`] | rule parameters: declared specs and a validating reader |
//! | [`checks`] | one module per check and the registry |
//! | [`inventory`] | the audit's input files (describe output, Config queries and items), per account and region |
//! | [`template`] | `scan`'s inputs: CloudFormation templates and Terraform plans, values unknown before deploy kept as such |
//! | [`event`] | the Config rule event (`invokingEvent`/`ruleParameters` are JSON strings) |
//! | [`cloud`] | the port: what the engine needs from AWS, and an in-memory implementation |
//! | [`engine`] | event + check → evaluations, through the port |
//! | [`audit`] | every group × several checks, per account and region, through the same port |
//! | [`scan`] | the checks on groups templates and plans define, world by world (INSUFFICIENT_DATA) |
//! | [`remediate`] | the fixes of a set of groups, applied through the port and verified |
//! | [`report`] | an audit as table, JSON, CSV, Markdown, SARIF or HTML |
//! | `aws` | the SDK adapter (feature `aws`) |
//! | `lambda` | the Lambda handler (feature `aws`) |
//! | [`cli`] | the `sg-compliance` command line |

pub mod audit;
pub mod checks;
pub mod cli;
pub mod cloud;
pub mod engine;
pub mod event;
pub mod exposure;
pub mod fix;
pub mod inventory;
pub mod model;
pub mod params;
pub mod ports;
pub mod reach;
pub mod remediate;
pub mod report;
pub mod scan;
pub mod template;
pub mod verdict;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod lambda;
