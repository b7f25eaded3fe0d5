//! The one integration-test binary (one link of the AWS SDK instead of one per file): the CLI
//! contract on fixtures, fixture round trips, property tests of the set logic, aws-smithy-mocks
//! adapter tests and the moto end-to-end tests of the real binaries.

mod audit_cli;
mod cli;
mod fix_properties;
mod fixtures;
mod hostile;
mod properties;
mod scan_cli;

#[cfg(feature = "aws")]
mod adapter_mocks;
#[cfg(feature = "aws")]
mod audit_live;
#[cfg(feature = "aws")]
mod faults;
#[cfg(feature = "aws")]
mod moto_lambda;
#[cfg(feature = "aws")]
mod remediate_live;
#[cfg(feature = "aws")]
mod support;
