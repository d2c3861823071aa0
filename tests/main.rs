//! nodectl's integration tests: one test binary (see `../shared/design.md`).
//!
//! Three layers, because no emulator is a faithful CloudFormation:
//! 1. `engine`: the stack engine against `aws-smithy-mocks` response sequences written from the
//!    CloudFormation API Reference, for what no emulator produces (throttling, failed states,
//!    timeouts, imports, termination protection).
//! 2. `localstack`: the real binary and SDK against LocalStack on loopback, for the stack
//!    lifecycle (events, change sets, rollbacks, deletes).
//! 3. `moto`: the real binary and SDK against moto on loopback, for what was provisioned.
//!
//! Plus `cli`, `config` and `render`, which need no emulator (cfn-lint excepted).

// Test helpers are `pub` for the test modules; the binary exports nothing.
#![allow(unreachable_pub)]

mod support;

mod check;
mod cli;

mod config;
mod cost;
mod credentials;
mod day2;
mod diff;
mod dynabench;
mod dynabench_lambda;
mod engine;
mod faults;
mod fleet;
mod identity;
mod init;
mod lifecycle;
mod localstack;
mod moto;
mod options;
mod progress;
mod reapply;
mod render;
mod replace;
mod runtime;
mod scan;
mod sdk_worker;
mod secret_retries;
mod secrets;
mod signals;
mod ssm_waits;
mod theta;
mod upgrade;
mod userdata;
mod userdata_sdk;
mod values;
