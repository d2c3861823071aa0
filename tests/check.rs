//! `nodectl check` end to end through the binary: every built-in rule fails its violating
//! fixture (`tests/data/check/<rule>.fail.json`) with the expected messages and passes the fixed
//! one (`<rule>.pass.json`); both blueprints' samples pass; suppressions, `--rules DIR`, the
//! JSON and SARIF reports; and `deploy`, which refuses on a violation before any AWS request
//! unless `--skip-checks`.

use serde_json::Value;

use crate::support::{
    filled, repo, theta_sample, upstream_sample, Emulator, Output, Tripwire, Workspace,
    UPSTREAM_NOTE, UPSTREAM_WARNINGS,
};

/// The fixture `tests/data/check/<name>`.
fn fixture(name: &str) -> String {
    repo()
        .join("tests/data/check")
        .join(name)
        .display()
        .to_string()
}

/// `nodectl check --output json` with `args` in an Allora workspace (the upstream sample).
fn check_json(workspace: &Workspace, args: &[&str]) -> (Output, Value) {
    let mut all = vec!["check", "--output", "json"];
    all.extend_from_slice(args);
    let out = workspace.run(&all);
    let report = serde_json::from_str(&out.stdout).unwrap_or_else(|err| {
        panic!(
            "{err}\n--- stdout\n{}\n--- stderr\n{}",
            out.stdout, out.stderr
        )
    });
    (out, report)
}

/// The rows of `report` with `status`, as (rule, place, message).
fn rows(report: &Value, status: &str) -> Vec<(String, String, String)> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["status"] == status)
        .map(|row| {
            let place = match (row["location"].as_str().unwrap(), row["detail"].as_str()) {
                ("", _) => "-".to_string(),
                (location, Some(detail)) => format!("{location} ({detail})"),
                (location, None) => location.to_string(),
            };
            (
                row["rule"].as_str().unwrap().to_string(),
                place,
                row["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The status of `rule`'s rows in `report` (one status per row).
fn statuses(report: &Value, rule: &str) -> Vec<String> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["rule"] == rule)
        .map(|row| row["status"].as_str().unwrap().to_string())
        .collect()
}

const NO_INSTANCE_PROFILE: &str =
    "the instance has no instance profile: give it an IAM role through an instance profile, never access keys";
const UNDECLARED: &str =
    "inbound traffic from 0.0.0.0/0 (the whole internet) that the blueprint does not declare";
const USER: &str =
    "an IAM user or access key: instances get their credentials from the instance role";

/// One expected failure: (rule, place, message).
type Failure = (&'static str, &'static str, &'static str);

/// Each built-in rule, and the failures its violating fixture must produce: (rule, place,
/// message).
fn expected_failures() -> Vec<(&'static str, Vec<Failure>)> {
    vec![
        ("sg_no_world_ssh_rdp", vec![
            ("sg_no_world_ssh_rdp", "SecurityGroup (ingress tcp 22 from 0.0.0.0/0)",
             "port 22 (SSH) is open to 0.0.0.0/0: use SSM Session Manager instead of SSH"),
            ("sg_no_world_ssh_rdp", "SecurityGroup (ingress tcp 3000-4000 from ::/0)",
             "port 3389 (RDP) is open to ::/0: use SSM Session Manager instead of RDP"),
        ]),
        ("sg_no_undeclared_world_open_port", vec![
            ("sg_no_undeclared_world_open_port", "ExtraIngress (ingress tcp 8080 from 0.0.0.0/0)", UNDECLARED),
        ]),
        ("ebs_encrypted", vec![
            ("ebs_encrypted", "DataVolume", "the EBS volume is not encrypted: set Encrypted to true"),
            ("ebs_encrypted", "Instance (block device /dev/xvda)",
             "a block device of the instance is not encrypted: set Ebs Encrypted to true"),
        ]),
        ("imdsv2_required", vec![
            ("imdsv2_required", "Instance", "IMDSv2 is not required: set MetadataOptions HttpTokens to required"),
        ]),
        ("imds_hop_limit_one", vec![
            ("imds_hop_limit_one", "Instance",
             "instance metadata answers may travel more than one hop, so containers on the node can \
              take the instance role: set MetadataOptions HttpPutResponseHopLimit to 1"),
        ]),
        ("detailed_monitoring", vec![
            ("detailed_monitoring", "Instance",
             "detailed monitoring is off: set Monitoring to true (1-minute CloudWatch metrics)"),
        ]),
        ("iam_no_wildcard_action", vec![
            ("iam_no_wildcard_action", "Role (policy Node, statement 1 (no Sid))",
             "an Allow statement allows every action (\"*\"): list the actions the node needs"),
            ("iam_no_wildcard_action", "Role (policy Node, statement Ec2)",
             "an Allow statement allows every action of a service (\"service:*\"): list the actions the node needs"),
        ]),
        ("iam_no_wildcard_resource", vec![
            ("iam_no_wildcard_resource", "Role (policy Node, statement DescribeInstances)",
             "an Allow statement applies to every resource (\"*\"): name the resources, or where AWS allows \
              nothing narrower, suppress the rule for the statement's Sid with the reason"),
        ]),
        ("iam_declared_managed_policies", vec![
            ("iam_declared_managed_policies", "Role (managed policy arn:aws:iam::aws:policy/AdministratorAccess)",
             "a managed policy that the blueprint does not declare is attached"),
        ]),
        ("ec2_instance_profile", vec![("ec2_instance_profile", "Instance", NO_INSTANCE_PROFILE)]),
        ("iam_no_users_or_access_keys", vec![
            ("iam_no_users_or_access_keys", "User", USER),
            ("iam_no_users_or_access_keys", "AccessKey", USER),
        ]),
        ("secret_parameters", vec![
            ("secret_parameters", "parameter NodePassword",
             "a parameter with a secret-like name is not NoEcho: keep secrets in Secrets Manager, not in template parameters"),
            ("secret_parameters", "parameter ApiToken",
             "an output shows a parameter with a secret-like name: outputs are readable by anyone who can describe the stack"),
        ]),
        ("s3_bucket_encryption", vec![
            ("s3_bucket_encryption", "Bucket", "the bucket sets no default encryption: add BucketEncryption (AES256 or aws:kms)"),
        ]),
        ("s3_public_access_blocked", vec![
            ("s3_public_access_blocked", "Bucket", "BlockPublicPolicy is not true"),
        ]),
        ("s3_tls_only", vec![
            ("s3_tls_only", "Bucket",
             "no bucket policy denies requests without TLS: add an AWS::S3::BucketPolicy with a Deny \
              statement on Condition Bool aws:SecureTransport false"),
        ]),
        ("lambda_runtime_supported", vec![
            ("lambda_runtime_supported", "Function",
             "the function's runtime is deprecated (no security patches; AWS blocks creating and \
              updating such functions): use a supported one such as python3.13 or nodejs22.x"),
        ]),
        ("apigateway_access_logging", vec![
            ("apigateway_access_logging", "Stage",
             "the stage writes no access log: set AccessLogSetting with a DestinationArn (a \
              CloudWatch Logs log group) and a Format"),
        ]),
        ("instance_family_recommended", vec![
            ("instance_family_recommended", "Instance",
             "the instance family is not one the blueprint recommends for this workload"),
        ]),
        ("node_service_restart", vec![
            ("node_service_restart", "Instance",
             "the user data sets no restart policy on the node's service (systemd Restart=always or \
              on-failure, or a docker restart policy)"),
        ]),
        ("data_on_separate_volume", vec![
            ("data_on_separate_volume", "Instance",
             "the node's data has no volume of its own: attach an EBS data volume (or use the instance \
              store), so that the root volume holds only the system"),
        ]),
        // A suppression without a reason is a failure, and suppresses nothing.
        ("suppression_reason", vec![
            ("sg_no_undeclared_world_open_port", "SecurityGroup (ingress tcp 443 from 0.0.0.0/0)", UNDECLARED),
            ("suppression_reason", "SecurityGroup",
             "the suppression of `sg_no_undeclared_world_open_port` has no reason: every suppression says why"),
        ]),
    ]
}

#[test]
fn every_built_in_rule_fails_its_fixture_and_passes_the_fixed_one() {
    let workspace = Workspace::new(&upstream_sample());
    let cases = expected_failures();
    // Every rule of the catalog has a case.
    let catalog: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("rules/catalog.json")).unwrap())
            .unwrap();
    let mut catalogued: Vec<&str> = catalog["rules"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut tested: Vec<&str> = cases.iter().map(|(rule, _)| *rule).collect();
    catalogued.sort();
    tested.sort();
    assert_eq!(tested, catalogued);

    for (rule, expected) in cases {
        let (out, report) = check_json(
            &workspace,
            &["--template", &fixture(&format!("{rule}.fail.json"))],
        );
        out.expect_code(6);
        let expected: Vec<(String, String, String)> = expected
            .into_iter()
            .map(|(r, place, message)| (r.to_string(), place.to_string(), message.to_string()))
            .collect();
        assert_eq!(rows(&report, "fail"), expected, "{rule}");
        assert_eq!(report["passed"], false);
        // The error on stderr lists the same failures.
        for (failed, place, message) in &expected {
            let line = format!("  {failed} on {rule}.fail.json/{place}: {message}\n");
            assert!(out.stderr.contains(&line), "{rule}: {line}\n{}", out.stderr);
        }

        let (out, report) = check_json(
            &workspace,
            &["--template", &fixture(&format!("{rule}.pass.json"))],
        );
        out.success();
        assert_eq!(rows(&report, "fail"), vec![], "{rule}");
        let seen = statuses(&report, rule);
        assert!(
            !seen.is_empty() && seen.iter().all(|s| s == "pass" || s == "suppressed"),
            "{rule}: {seen:?}"
        );
    }
}

#[test]
fn a_suppression_covers_only_what_it_names() {
    let workspace = Workspace::new(&upstream_sample());
    // The statement's Sid: suppressed, with the suppression's reason.
    let (out, report) = check_json(
        &workspace,
        &["--template", &fixture("iam_no_wildcard_resource.pass.json")],
    );
    out.success();
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["status"] == "suppressed")
        .unwrap()
        .clone();
    assert_eq!(row["rule"], "iam_no_wildcard_resource");
    assert_eq!(row["detail"], "policy Node, statement DescribeInstances");
    assert_eq!(
        row["reason"],
        "ec2:DescribeInstances supports no resource-level permissions: AWS allows only \"*\""
    );
    // The ports: 9010 is suppressed, 8080 on the same rule is not.
    let (out, report) = check_json(
        &workspace,
        &[
            "--template",
            &fixture("sg_no_undeclared_world_open_port.fail.json"),
        ],
    );
    out.expect_code(6);
    assert_eq!(
        rows(&report, "suppressed"),
        [(
            "sg_no_undeclared_world_open_port".to_string(),
            "SecurityGroup (ingress tcp 9010 from 0.0.0.0/0)".to_string(),
            UNDECLARED.to_string()
        )]
    );
}

#[test]
fn both_blueprints_pass_with_their_samples() {
    // The Allora sample, account still the placeholder: check is offline.
    let (out, report) = check_json(&Workspace::new(&upstream_sample()), &[]);
    out.success();
    assert_eq!(
        out.stderr,
        format!(
            "{UPSTREAM_WARNINGS}checks: 15 passed, 0 failed, 1 suppressed, 26 not applicable\n"
        )
    );
    assert_eq!(report["blueprint"], "allora");
    assert_eq!(report["passed"], true);
    let suppressed: Vec<&Value> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["status"] == "suppressed")
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["stack"], "allora-single-node");
    assert_eq!(suppressed[0]["resource"], "SecurityGroup");
    assert_eq!(suppressed[0]["detail"], "ingress tcp 9010 from 0.0.0.0/0");
    assert!(suppressed[0]["reason"]
        .as_str()
        .unwrap()
        .contains("port 9010 (TCP) is open inbound to support requests for inferences from the Allora Network public head nodes"));
    assert_eq!(
        suppressed[0]["remark"],
        "Please note that port 9010 (TCP) is open inbound to support requests for inferences from \
         the Allora Network public head nodes."
    );
    let stacks: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["stack"].as_str().unwrap())
        .collect();
    assert!(stacks.contains(&"allora-edge-common") && stacks.contains(&"allora-single-node"));

    // Theta with every data volume type; no suppression needed.
    for edits in [
        vec![],
        vec![("EDGE_DATA_VOL_TYPE", "io1")],
        vec![
            ("EDGE_DATA_VOL_TYPE", "io2"),
            ("EDGE_DATA_VOL_IOPS", "10000"),
        ],
        vec![("EDGE_DATA_VOL_TYPE", "instance-store")],
        // CPU only: nodectl's default instance type without a GPU.
        vec![
            ("EDGE_NODE_GPU", "disabled"),
            ("EDGE_NODE_INSTANCE_TYPE", ""),
        ],
    ] {
        let workspace = Workspace::new(&theta_sample("123456789012"));
        let out = workspace.run_with(&["check", "--output", "json"], &edits);
        out.success();
        let report: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(report["blueprint"], "theta");
        assert_eq!(report["summary"]["fail"], 0, "{edits:?}");
        assert_eq!(report["summary"]["suppressed"], 0, "{edits:?}");
    }
}

#[test]
fn the_text_report_is_a_table_with_the_seed_remarks() {
    let out = Workspace::new(&upstream_sample()).run(&["check"]);
    out.success();
    assert_eq!(
        out.stderr,
        format!(
            "{UPSTREAM_WARNINGS}checks: 15 passed, 0 failed, 1 suppressed, 26 not applicable\n"
        )
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["STACK", "STATUS", "CONTROL", "CHECK", "RULE", "RESOURCE", "REASON", "REMARK"]
    );
    // One row per stack and rule (21 rules, one finding each here), aligned under the header.
    assert_eq!(lines.len(), 1 + 2 * 21);
    let column = |name: &str| lines[0].find(name).unwrap();
    let row = lines
        .iter()
        .find(|line| line.contains("suppressed"))
        .unwrap();
    assert!(row.starts_with("allora-single-node  suppressed"));
    assert_eq!(
        &row[column("CONTROL")..column("CHECK")].trim_end(),
        &"Network protection"
    );
    assert_eq!(
        row[column("RESOURCE")..].split("  ").next().unwrap(),
        "SecurityGroup (ingress tcp 9010 from 0.0.0.0/0)"
    );
    let imds = lines
        .iter()
        .find(|line| line.starts_with("allora-single-node") && line.contains("imdsv2_required"))
        .unwrap();
    assert!(imds.contains(" pass "));
    assert!(imds.ends_with(
        "This solution uses Amazon Linux AMI. You may choose to run hardening scripts on it."
    ));
}

#[test]
fn user_rules_from_a_directory_join_the_built_in_ones() {
    let workspace = Workspace::new(&upstream_sample());
    let dir = workspace.path("my-rules");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("tags.guard"),
        "rule instance_has_name_tag {\n\
         \x20   Resources.*[ Type == 'AWS::EC2::Instance' ] {\n\
         \x20       some Properties.Tags[*].Key == 'Name'\n\
         \x20       <<every instance has a Name tag>>\n\
         \x20   }\n\
         }\n\
         rule no_dashboard {\n\
         \x20   let dashboards = Resources.*[ Type == 'AWS::CloudWatch::Dashboard' ]\n\
         \x20   %dashboards empty\n\
         \x20   <<this account keeps its dashboards elsewhere>>\n\
         }\n",
    )
    .unwrap();
    std::fs::write(dir.join("README.txt"), "not a rules file").unwrap();
    std::fs::write(
        dir.join("catalog.json"),
        r#"{"rules": {"instance_has_name_tag": {"pillar": "Operational excellence", "control": "Workload health", "check": "Can every instance be found by name?", "remarks": {"allora": "our own rule"}}}}"#,
    )
    .unwrap();
    let (out, report) = check_json(&workspace, &["--rules", "my-rules"]);
    out.expect_code(6);
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["rule"] == "instance_has_name_tag" && row["stack"] == "allora-single-node")
        .unwrap()
        .clone();
    assert_eq!(row["status"], "pass");
    assert_eq!(row["control"], "Workload health");
    assert_eq!(row["remark"], "our own rule");
    assert!(row["source"]
        .as_str()
        .unwrap()
        .ends_with("my-rules/tags.guard"));
    assert_eq!(
        rows(&report, "fail"),
        [(
            "no_dashboard".to_string(),
            "Dashboard".to_string(),
            "this account keeps its dashboards elsewhere".to_string()
        )]
    );
    // An uncatalogued rule is reported under its own name.
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["rule"] == "no_dashboard" && row["stack"] == "allora-edge-common")
        .unwrap()
        .clone();
    assert_eq!(row["status"], "pass");
    assert_eq!(row["control"], "(custom rule)");
}

#[test]
fn a_rules_file_that_does_not_parse_or_reuses_a_name_is_an_error() {
    let workspace = Workspace::new(&upstream_sample());
    let dir = workspace.path("bad");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("broken.guard"),
        "rule broken {\n  Resources.*[ Type == ]\n}\n",
    )
    .unwrap();
    let out = workspace.run(&["check", "--rules", "bad"]);
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("error: cannot parse the rules file bad/broken.guard: "),
        "{}",
        out.stderr
    );

    std::fs::write(
        dir.join("broken.guard"),
        "rule imdsv2_required { Resources exists }\n",
    )
    .unwrap();
    let out = workspace.run(&["check", "--rules", "bad"]);
    out.expect_code(1);
    assert!(out.stderr.contains(
        "error: rule `imdsv2_required` of bad/broken.guard has the same name as another rule\n"
    ));

    let out = workspace.run(&["check", "--rules", "missing"]);
    out.expect_code(1);
    assert!(out
        .stderr
        .contains("error: cannot read the rules directory `missing`: "));
}

#[test]
fn sarif_reports_rules_results_and_suppressions() {
    let workspace = Workspace::new(&upstream_sample());
    let out = workspace.run(&["check", "--output", "sarif"]);
    out.success();
    let sarif: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "nodectl");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 21);
    assert_eq!(rules[0]["id"], "sg_no_world_ssh_rdp");
    assert_eq!(
        rules[0]["shortDescription"]["text"],
        "Compute protection: Enable people to perform actions at a distance"
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 42);
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(result["message"]["text"].as_str().is_some());
        assert!(["pass", "notApplicable", "fail"].contains(&result["kind"].as_str().unwrap()));
    }
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|result| result.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["level"], "error");
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
    let locations = &suppressed[0]["locations"][0]["logicalLocations"];
    assert_eq!(locations[0]["name"], "allora-single-node");
    assert_eq!(
        locations[1]["fullyQualifiedName"],
        "allora-single-node/SecurityGroup"
    );
    assert_eq!(locations[1]["kind"], "resource");

    // A failure: kind fail, level error, no suppression.
    let out = workspace.run(&[
        "check",
        "--output",
        "sarif",
        "--template",
        &fixture("imdsv2_required.fail.json"),
    ]);
    out.expect_code(6);
    let sarif: Value = serde_json::from_str(&out.stdout).unwrap();
    let failed: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|result| result["kind"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["ruleId"], "imdsv2_required");
    assert_eq!(failed[0]["level"], "error");
    assert_eq!(
        failed[0]["message"]["text"],
        "Instance: IMDSv2 is not required: set MetadataOptions HttpTokens to required"
    );
}

#[test]
fn sarif_is_the_format_of_check_only() {
    let out = Workspace::new(&upstream_sample()).run(&["render", "--output", "sarif"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: --output sarif is the format of `nodectl check` reports only\n\
         hint: use --output text or --output json with this command\n"
    );
}

/// The upstream sample with port 22 open to the world as well as 9010.
fn with_ssh_open(account: &str) -> Workspace {
    let text = filled(&upstream_sample(), account);
    let mut workspace = Workspace::new(&text);
    workspace.set("NODECTL_INGRESS_PORTS", "9010,22");
    workspace
}

#[test]
fn deploy_refuses_on_a_violation_before_any_aws_request() {
    let tripwire = Tripwire::new();
    let mut workspace = with_ssh_open("123456789012");
    workspace.set("AWS_ENDPOINT_URL", &tripwire.endpoint);
    workspace.set("AWS_ACCESS_KEY_ID", "testing");
    workspace.set("AWS_SECRET_ACCESS_KEY", "testing");
    let out = workspace.run(&["deploy", "all", "--yes"]);
    out.expect_code(6);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "{UPSTREAM_WARNINGS}error: refusing to deploy: 2 checks failed\n  \
             sg_no_world_ssh_rdp on allora-single-node/SecurityGroup (ingress tcp 22 from 0.0.0.0/0): \
             port 22 (SSH) is open to 0.0.0.0/0: use SSM Session Manager instead of SSH\n  \
             sg_no_undeclared_world_open_port on allora-single-node/SecurityGroup (ingress tcp 22 from \
             0.0.0.0/0): {UNDECLARED}\n\
             hint: fix what failed (`nodectl check` prints the whole report), add a suppression with a \
             reason to the resource's Metadata if the blueprint really needs the exception \
             (docs/checks.md), or pass --skip-checks to deploy anyway\n"
        )
    );
    assert_eq!(tripwire.connections(), 0, "an AWS request was made");
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn deploy_with_skip_checks_says_so_loudly_and_goes_on() {
    let emulator = Emulator::moto();
    // Another account than the credentials': the deploy stops at the account check, the first
    // AWS request, which shows that the checks did not stop it.
    let workspace = with_ssh_open("111111111111").with_emulator(&emulator);
    let out = workspace.run(&["deploy", "all", "--yes", "--skip-checks"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        format!(
            "{UPSTREAM_WARNINGS}warning: checks SKIPPED (--skip-checks): deploying without the \
             security, cost and reliability checks of `nodectl check`\n{UPSTREAM_NOTE}\
             error: the AWS credentials are for account 123456789012, but .env:6 sets \
             AWS_ACCOUNT_ID=111111111111\n\
             hint: use credentials for the configured account (--profile, AWS_PROFILE), or correct \
             AWS_ACCOUNT_ID; nothing was changed\n"
        )
    );
}

#[test]
fn the_cost_rule_comes_with_the_estimate() {
    // The upstream Theta sample: g4dn.xlarge, 256 GiB gp3 at 3000 IOPS, us-east-2.
    let (out, report) = check_json(&Workspace::new(&theta_sample("123456789012")), &[]);
    out.success();
    let cost_rows: Vec<&Value> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["rule"] == "instance_family_recommended" && row["status"] == "pass")
        .collect();
    assert_eq!(cost_rows.len(), 1);
    assert_eq!(cost_rows[0]["stack"], "theta-edge-single-node-mainnet");
    let cost = Workspace::new(&theta_sample("123456789012")).run(&["cost", "--output", "json"]);
    cost.success();
    let estimate: Value = serde_json::from_str(&cost.stdout).unwrap();
    let total = estimate["totalUsd"]
        .as_f64()
        .expect("totalUsd in the cost JSON");
    assert_eq!(
        cost_rows[0]["reason"],
        format!(
            "about {total:.2} USD/month on demand for all stacks (`nodectl cost` for the lines)"
        )
    );
}
