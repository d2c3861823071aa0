//! Credentials and region resolved as the AWS CLI v2 resolves them (issue 12), with temporary
//! AWS config and credentials files: `--profile` beats keys in the environment; the region
//! comes from `--region`, `AWS_REGION`, the `.env` file, `AWS_DEFAULT_REGION`, then the
//! profile, and never from a silent default; an SSO profile without a sign-in gets `aws sso
//! login`; a profile that does not exist is named. `-v` says where each came from.
//!
//! Offline: these run against no AWS at all (an endpoint on a closed loopback port), since
//! the credentials and the region are settled before the first request. The last test checks
//! on LocalStack, which makes a 12-digit access key id the account id, that the profile's keys
//! are the ones that sign the requests.

use crate::support::{filled, upstream_sample, Emulator, Workspace, UPSTREAM_WARNINGS};

const ACCOUNT: &str = "123456789012";

/// The upstream sample with `AWS_REGION` emptied (as a user who relies on the profile does).
fn without_region() -> Workspace {
    let text =
        filled(&upstream_sample(), ACCOUNT).replace("AWS_REGION=\"us-east-1\"", "AWS_REGION=\"\"");
    let mut workspace = Workspace::new(&text);
    workspace.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    workspace
}

/// Writes the workspace's AWS config file.
fn config(workspace: &Workspace, text: &str) {
    std::fs::write(workspace.path("aws-config"), text).unwrap();
}

/// Writes the workspace's AWS credentials file.
fn credentials(workspace: &Workspace, text: &str) {
    std::fs::write(workspace.path("aws-credentials"), text).unwrap();
}

/// The `region X (from Y)` line of `-v render`.
fn region_line(workspace: &Workspace, args: &[&str], extra: &[(&str, &str)]) -> String {
    let mut all = vec!["-v", "render", "common"];
    all.extend_from_slice(args);
    let out = workspace.run_with(&all, extra);
    out.success();
    out.stderr
        .lines()
        .find(|line| line.contains("DEBUG region "))
        .unwrap_or_else(|| panic!("no region line in:\n{}", out.stderr))
        .trim_start_matches("DEBUG ")
        .to_string()
}

const PROFILES: &str = "[default]\nregion = ap-south-1\n\n[profile other]\nregion = eu-central-1\n";

#[test]
fn the_region_follows_the_aws_cli_precedence() {
    let workspace = without_region();
    config(&workspace, PROFILES);
    // The profile's region, when nothing else sets one: the default profile, AWS_PROFILE, --profile.
    assert_eq!(
        region_line(&workspace, &[], &[]),
        "region ap-south-1 (from the region of AWS profile `default`)"
    );
    assert_eq!(
        region_line(&workspace, &[], &[("AWS_PROFILE", "other")]),
        "region eu-central-1 (from the region of AWS profile `other`)"
    );
    assert_eq!(
        region_line(
            &workspace,
            &["--profile", "other"],
            &[("AWS_PROFILE", "default")]
        ),
        "region eu-central-1 (from the region of AWS profile `other`)"
    );
    // AWS_DEFAULT_REGION beats the profile.
    assert_eq!(
        region_line(
            &workspace,
            &["--profile", "other"],
            &[("AWS_DEFAULT_REGION", "eu-west-3")]
        ),
        "region eu-west-3 (from AWS_DEFAULT_REGION in the environment)"
    );
    // The .env file beats AWS_DEFAULT_REGION.
    let mut set = Workspace::upstream(ACCOUNT);
    config(&set, PROFILES);
    assert_eq!(
        region_line(
            &set,
            &["--profile", "other"],
            &[("AWS_DEFAULT_REGION", "eu-west-3")]
        ),
        "region us-east-1 (from .env:20)"
    );
    // AWS_REGION in the environment beats the file, and --region beats everything.
    set.set("AWS_REGION", "us-west-2");
    assert_eq!(
        region_line(&set, &[], &[]),
        "region us-west-2 (from process environment)"
    );
    assert_eq!(
        region_line(&set, &["--region", "ca-central-1"], &[]),
        "region ca-central-1 (from --region)"
    );
}

#[test]
fn no_region_anywhere_is_an_error_not_a_default() {
    let workspace = without_region();
    let out = workspace.run(&["render", "common"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr
            .strip_prefix(UPSTREAM_WARNINGS)
            .expect("the sample's warnings first"),
        "error: no AWS region: AWS_REGION is not set in .env, the environment or \
         AWS_DEFAULT_REGION, and the AWS profile has no region\n\
         hint: set AWS_REGION in the .env file (e.g. AWS_REGION=\"us-east-1\"), pass --region, \
         or give your profile one (`aws configure set region us-east-1`)\n"
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn an_explicit_profile_beats_keys_in_the_environment() {
    let mut workspace = Workspace::upstream(ACCOUNT);
    workspace.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    workspace.set("AWS_ACCESS_KEY_ID", "111111111111");
    workspace.set("AWS_SECRET_ACCESS_KEY", "env-secret");
    credentials(
        &workspace,
        "[other]\naws_access_key_id = 222222222222\naws_secret_access_key = profile-secret\n",
    );
    let with_profile = workspace.run_with(
        &["-v", "status", "--profile", "other"],
        &[("NODECTL_MAX_ATTEMPTS", "1")],
    );
    assert!(
        with_profile
            .stderr
            .contains("DEBUG credentials from profile (access keys): `other`\n"),
        "{}",
        with_profile.stderr
    );
    // AWS_PROFILE is weaker than keys in the environment (the AWS CLI's order too).
    let with_env = workspace.run_with(
        &["-v", "status"],
        &[("AWS_PROFILE", "other"), ("NODECTL_MAX_ATTEMPTS", "1")],
    );
    assert!(
        with_env
            .stderr
            .contains("DEBUG credentials from environment variables (AWS_ACCESS_KEY_ID)\n"),
        "{}",
        with_env.stderr
    );
}

#[test]
fn an_sso_profile_without_a_sign_in_says_aws_sso_login() {
    let mut workspace = Workspace::upstream(ACCOUNT);
    workspace.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    config(
        &workspace,
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\n\
         sso_role_name = Admin\nregion = us-east-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\
         sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
    );
    for args in [
        vec!["status", "--profile", "dev"],
        vec!["deploy", "all", "--yes", "--profile", "dev"],
    ] {
        let out = workspace.run(&args);
        out.expect_code(1);
        let warnings = if args[0] == "deploy" {
            format!("{UPSTREAM_WARNINGS}{}", crate::support::UPSTREAM_NOTE)
        } else {
            String::new()
        };
        assert_eq!(
            out.stderr.strip_prefix(&warnings).unwrap_or(&out.stderr),
            "error: the AWS profile `dev` uses IAM Identity Center (SSO), and its sign-in is \
             missing or expired\nhint: aws sso login --profile dev\n",
            "{args:?}"
        );
    }
    // Selected through AWS_PROFILE, the same.
    let out = workspace.run_with(&["status"], &[("AWS_PROFILE", "dev")]);
    out.expect_code(1);
    assert!(
        out.stderr.ends_with("hint: aws sso login --profile dev\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_profile_that_does_not_exist_is_named() {
    let mut workspace = Workspace::upstream(ACCOUNT);
    workspace.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let out = workspace.run(&["status", "--profile", "prod"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: the AWS profile `prod` does not exist in the shared config or credentials file\n\
         hint: create it with `aws configure --profile prod` (or `aws configure sso --profile \
         prod`), or check AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE\n"
    );
}

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn the_profile_keys_sign_the_requests_on_localstack() {
    let emulator = Emulator::localstack();
    // LocalStack's account is the 12-digit access key id that signed the request.
    let mut workspace = Workspace::upstream("222222222222").with_emulator(&emulator);
    workspace.set("AWS_ACCESS_KEY_ID", "111111111111");
    credentials(
        &workspace,
        "[other]\naws_access_key_id = 222222222222\naws_secret_access_key = test\n",
    );
    workspace.run(&["status", "--profile", "other"]).success();
    let out = workspace.run(&["status"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("111111111111"),
        "the environment's keys are another account: {}",
        out.stderr
    );
}
