//! The Dynabench model gateway's Lambda handlers, `templates/dynabench/lambda/` (the TOKEN
//! authorizer, the SageMaker invoker and the CORS preflight), through their Python unit tests
//! run with `.venv/dynabench-lambda` (pinned PyJWT and boto3/botocore). Those tests cover the
//! tokens the authorizer allows (Dynabench's HS256 login and trial tokens, both keys of a
//! rotation) and refuses (expired, bad signature, other algorithms including `alg: none`, no
//! `Bearer`, malformed), the secret cached and read again after its TTL, neither token nor
//! secret in the log (also botocore's DEBUG response bodies), the exact `InvokeEndpoint`
//! parameters, bad endpoint names, SageMaker errors mapped to the `BadRequest:` /
//! `ModelError:` / other prefixes and the selection patterns that pick them, and the CORS
//! headers. AWS answers come from `botocore.stub.Stubber`; the tests' set-up makes any
//! unstubbed call fail instead of reaching the network.
//!
//! What this cannot show: no API Gateway and no Lambda runtime run here (LocalStack cannot
//! create Lambda functions offline), so the event shapes are those of the task owner's OpenAPI
//! document and AWS's documentation, not observed; and whether the Dynabench admins' endpoint
//! secret really is the key of the user tokens is inferred from Dynabench's code.

use crate::support::{repo, venv_program};

/// Runs the Python unittest suite in `dir` (top-level directory `top`, for imports) with the
/// `dynabench-lambda` venv's Python, from the repository root; returns unittest's report and
/// how many tests ran. Panics, with the report, when it fails or runs fewer than `at_least`.
pub fn python_suite(dir: &str, top: &str, at_least: usize) -> String {
    let output = std::process::Command::new(venv_program("dynabench-lambda", "python"))
        .args(["-m", "unittest", "discover", "-v"])
        .args(["-s", dir, "-t", top])
        .current_dir(repo())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python -m unittest");
    // unittest reports on stderr.
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{dir} failed:\n{report}");
    let ran: usize = report
        .lines()
        .find_map(|line| line.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no \"Ran N tests\" line:\n{report}"));
    assert!(ran >= at_least, "only {ran} tests ran:\n{report}");
    report
}

#[test]
#[ignore = "full suite: needs .venv/dynabench-lambda (scripts/test installs it)"]
fn the_lambda_handlers_pass_their_unit_tests() {
    python_suite(
        "templates/dynabench/lambda/tests",
        "templates/dynabench/lambda",
        20,
    );
}
