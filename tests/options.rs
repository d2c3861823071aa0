//! The anchors' deploy options (issue 12): stack tags from `NODECTL_TAGS` and `--tags` on every
//! stack and the node's secret, `--role-arn`, `--termination-protection`; and their mistakes.
//! Tags and the role on moto, which keeps both (it does not assume the role: that the role is
//! passed is all it can show); termination protection on LocalStack (moto's answer to
//! UpdateTerminationProtection does not parse). `--no-rollback` is checked on the exact API
//! request (tests/engine.rs), since neither emulator keeps a failed operation's resources.

use crate::config::rejects;
use crate::support::{filled, runtime, upstream_sample, Emulator, Workspace};

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn tags_and_role_reach_every_stack() {
    let emulator = Emulator::moto();
    let text = filled(&upstream_sample(), emulator.account)
        + "NODECTL_TAGS=\"team=ops, cost-center=42\"\n";
    let workspace = Workspace::new(&text).with_emulator(&emulator);
    let role = format!("arn:aws:iam::{}:role/cfn-deployer", emulator.account);
    workspace
        .run(&[
            "deploy",
            "all",
            "--yes",
            "--method",
            "direct",
            "--tags",
            "team=core",
            "--tags",
            "owner=node ops",
            "--role-arn",
            &role,
        ])
        .success();
    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk_in("us-east-1"));
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    for name in ["allora-edge-common", "allora-single-node"] {
        let described = rt
            .block_on(cfn.describe_stacks().stack_name(name).send())
            .unwrap();
        let stack = &described.stacks()[0];
        let tags: Vec<(String, String)> = stack
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
            .collect();
        for expected in [
            ("team", "core"),
            ("cost-center", "42"),
            ("owner", "node ops"),
            ("nodectl:blueprint", "allora"),
        ] {
            assert!(
                tags.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{name}: {tags:?}"
            );
        }
        assert_eq!(stack.role_arn(), Some(role.as_str()), "{name}");
    }
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = rt
        .block_on(
            secrets
                .describe_secret()
                .secret_id("allora-single-node/node-secret")
                .send(),
        )
        .unwrap();
    assert!(secret
        .tags()
        .iter()
        .any(|t| t.key() == Some("team") && t.value() == Some("core")));
}

/// On LocalStack, whose UpdateTerminationProtection works (moto's answer does not parse).
#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn termination_protection_is_turned_on_and_destroy_refuses() {
    let emulator = Emulator::localstack();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let out = workspace.run(&["deploy", "common", "--yes", "--termination-protection"]);
    out.success();
    assert!(
        out.stderr
            .contains("turned termination protection on for stack `allora-edge-common`\n"),
        "{}",
        out.stderr
    );
    // Already on: nothing to do the second time.
    let again = workspace.run(&["deploy", "common", "--yes", "--termination-protection"]);
    again.success();
    assert!(!again.stderr.contains("turned termination protection on"));
    let out = workspace.run(&["destroy", "common", "--yes"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("termination protection"),
        "{}",
        out.stderr
    );
    let status = workspace.run(&["status", "--output", "json"]);
    assert!(
        status.stdout.contains("CREATE_COMPLETE"),
        "{}",
        status.stdout
    );
}

#[test]
fn bad_tags_are_refused_before_any_request() {
    rejects(
        &(filled(&upstream_sample(), "123456789012")
            + "NODECTL_TAGS=\"team=ops,aws:owner=me,x\"\n"),
        &[],
        &format!(
            "{}error: .env:72: NODECTL_TAGS: tag key `aws:owner` starts with `aws:`, which AWS \
             reserves\nhint: choose another key\n\nerror: .env:72: NODECTL_TAGS: `x` is not \
             KEY=VALUE\nhint: write KEY=VALUE: a key of 1 to 128 characters (letters, digits, \
             spaces and _ . : / = + - @), a value of 1 to 256\n",
            crate::support::UPSTREAM_WARNINGS
        ),
    );
    let workspace = Workspace::upstream("123456789012");
    let out = workspace.run(&["deploy", "all", "--yes", "--tags", "nodectl:stack=x"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains(
            "invalid value 'nodectl:stack=x' for '--tags <KEY=VALUE>': tag key `nodectl:stack` \
             starts with `nodectl:`, which nodectl reserves for its own tags (choose another key)"
        ),
        "{}",
        out.stderr
    );
    let out = workspace.run(&["deploy", "all", "--yes", "--role-arn", "cfn-deployer"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains(
            "invalid value 'cfn-deployer' for '--role-arn <ARN>': not an IAM role ARN \
             (arn:aws:iam::123456789012:role/NAME)"
        ),
        "{}",
        out.stderr
    );
}
