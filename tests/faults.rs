//! The full lifecycle through a proxy that injects faults (`support::faults`): throttling,
//! 5xx, connections reset before and after the request is processed (lost replies) and slow
//! replies, on 20 % of the calls, for several seeds. Every command must succeed on its first
//! try and leave the same end state as without faults. The emulator is LocalStack (faithful
//! stack lifecycle); the faults are the proxy's, so every AWS behaviour behind them is the
//! emulator's.

use serde_json::Value;

use crate::support::faults::{Fault, FaultProxy};
use crate::support::{read_json, runtime, Emulator, Workspace};

/// The seeds and the fraction of faulty calls: three runs of about 160 calls each, some 30
/// faults per run, in a few minutes.
const SEEDS: [u64; 3] = [11, 23, 37];
const FRACTION: f64 = 0.2;

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn the_lifecycle_survives_faults_on_a_fifth_of_the_calls() {
    let emulator = Emulator::localstack();
    let rt = runtime();
    let cfn = aws_sdk_cloudformation::Client::new(&rt.block_on(emulator.sdk()));
    let secrets = aws_sdk_secretsmanager::Client::new(&rt.block_on(emulator.sdk()));
    let mut kinds = std::collections::BTreeSet::new();
    for seed in SEEDS {
        let proxy = FaultProxy::start(emulator.port(), seed, FRACTION);
        let mut workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
        workspace.set("AWS_ENDPOINT_URL", &proxy.endpoint);
        // nodectl's production retries (7 attempts), not the tests' 2.
        workspace.set("NODECTL_MAX_ATTEMPTS", "7");
        for args in [
            &["deploy", "common", "--yes", "-O", "out.json"][..],
            &["deploy", "single-node", "--yes", "-O", "out.json"],
            &["deploy", "all", "--yes", "-O", "out.json"],
        ] {
            let out = workspace.run(args);
            assert_eq!(
                out.code,
                0,
                "seed {seed}: `{}` failed with faults {:?}\n{}",
                args.join(" "),
                proxy.injected(),
                out.stderr
            );
        }
        // The same end state as without faults: both stacks' outputs, the node's secret.
        let file = read_json(&workspace.path("out.json"));
        let mut stacks: Vec<&str> = file
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        stacks.sort();
        assert_eq!(
            stacks,
            ["allora-edge-common", "allora-single-node"],
            "seed {seed}"
        );
        assert!(file["allora-single-node"]["InstanceId"]
            .as_str()
            .is_some_and(|id| id.starts_with("i-")));
        let stored = rt
            .block_on(
                secrets
                    .get_secret_value()
                    .secret_id("allora-single-node/node-secret")
                    .send(),
            )
            .unwrap();
        let stored: Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
        assert_eq!(
            stored["allora-single-node"]["mnemonic"],
            crate::support::TEST_MNEMONIC
        );

        let out = workspace.run(&["destroy", "--yes", "--output", "json"]);
        assert_eq!(
            out.code,
            0,
            "seed {seed}: destroy failed with faults {:?}\n{}",
            proxy.injected(),
            out.stderr
        );
        let report: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(
            report["deleted"],
            serde_json::json!(["allora-single-node", "allora-edge-common"]),
            "seed {seed}"
        );
        for stack in ["allora-single-node", "allora-edge-common"] {
            let described = rt.block_on(cfn.describe_stacks().stack_name(stack).send());
            assert!(
                described.is_err()
                    || described.unwrap().stacks()[0]
                        .stack_status()
                        .map(|s| s.as_str())
                        == Some("DELETE_COMPLETE"),
                "seed {seed}: {stack} is gone"
            );
        }
        let described = rt
            .block_on(
                secrets
                    .describe_secret()
                    .secret_id("allora-single-node/node-secret")
                    .send(),
            )
            .unwrap();
        assert!(
            described.deleted_date().is_some(),
            "seed {seed}: scheduled for deletion"
        );

        let injected = proxy.injected();
        eprintln!(
            "seed {seed}: {} faults in {} forwarded calls: {injected:?}",
            injected.len(),
            proxy.forwarded()
        );
        assert!(
            injected.len() >= 10,
            "seed {seed}: too few faults to mean anything"
        );
        kinds.extend(injected.into_iter().map(|(fault, _)| fault));
    }
    // Over the seeds, every kind of fault happened.
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            Fault::Throttle,
            Fault::Unavailable,
            Fault::ResetBefore,
            Fault::ResetAfter,
            Fault::Slow
        ]
    );
}
