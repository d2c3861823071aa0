//! Tests of the offchain node's config.json generation and checks.
use super::*;

fn wallet() -> WalletInputs {
    WalletInputs {
        key_name: "worker1".into(),
        home_dir: String::new(),
        gas: "1000000".into(),
        gas_adjustment: 1.0,
        gas_prices: "auto".into(),
        gas_price_interval: 60,
        retry_delay: 3,
        block_duration: 10,
        window_correction: 0.8,
        max_fees: 500000,
        account_sequence_retry_delay: 5,
        node_rpcs: vec!["https://allora-rpc.testnet.allora.network".into()],
        node_grpcs: vec!["allora-grpc.testnet.allora.network:443".into()],
        chain_id: "allora-testnet-1".into(),
        max_retries: 1,
        submit_tx: true,
    }
}

fn worker() -> WorkerInputs {
    WorkerInputs {
        topics: vec![1, 7],
        entrypoint: "api-worker-reputer".into(),
        endpoint: "http://inference:8000/inference/{Token}".into(),
        token: "ETH".into(),
        loop_seconds: 30,
    }
}

fn reputer() -> ReputerInputs {
    ReputerInputs {
        topics: vec![1],
        entrypoint: "api-worker-reputer".into(),
        truth_endpoint: "http://source:8888/truth/{Token}/{BlockHeight}".into(),
        token: "ethereum".into(),
        loss_service: "http://localhost:5000".into(),
        loss_method: "sqe".into(),
        loop_seconds: 30,
        min_stake: 100000,
    }
}

#[test]
fn tags_map_to_schemas() {
    assert_eq!(schema_for_tag("v0.6.0"), Ok(Schema::V06));
    assert_eq!(schema_for_tag("v0.7.0"), Ok(Schema::V07));
    assert_eq!(schema_for_tag("v0.8.3"), Ok(Schema::V07));
    assert_eq!(schema_for_tag("v0.9.0"), Ok(Schema::V09));
    assert_eq!(schema_for_tag("v0.10.1-rc1"), Ok(Schema::V09));
    assert_eq!(schema_for_tag("v1.0.0"), Ok(Schema::V09));
    assert_eq!(
        schema_for_tag("latest").unwrap_err().0,
        "`latest` is not a pinned version tag"
    );
    assert!(schema_for_tag("v0.5.0").is_err());
    assert!(schema_for_tag("v0").is_err());
}

/// The fields each schema requires (node-software.md 1.4.3), present with their types.
#[test]
fn every_schema_has_its_required_fields() {
    let v06 = config(
        Schema::V06,
        &WalletInputs {
            gas_prices: "10".into(),
            ..wallet()
        },
        Some(&worker()),
        Some(&reputer()),
    );
    assert!(v06["wallet"]["gasPrices"].is_number());
    assert!(v06["wallet"]["nodeRpc"].is_string());
    assert!(v06["wallet"].get("nodeRpcs").is_none());
    assert!(v06["wallet"].get("gasPriceUpdateInterval").is_none());
    assert_eq!(
        v06["worker"][0]["inferenceEntrypointName"],
        "api-worker-reputer"
    );
    assert_eq!(v06["worker"][0]["loopSeconds"], 30);
    assert!(v06["reputer"][0]["minStake"].is_number());

    let v07 = config(Schema::V07, &wallet(), Some(&worker()), Some(&reputer()));
    assert_eq!(v07["wallet"]["gasPrices"], "auto");
    assert_eq!(v07["wallet"]["gasPriceUpdateInterval"], 60);
    assert_eq!(
        v07["wallet"]["nodeRpc"],
        "https://allora-rpc.testnet.allora.network"
    );
    assert_eq!(v07["worker"][0]["inferenceEntrypointName"], "apiAdapter");
    assert!(v07["worker"][0].get("loopSeconds").is_none());
    assert_eq!(
        v07["worker"].as_array().unwrap().len(),
        2,
        "one entry per topic"
    );
    assert_eq!(v07["worker"][1]["topicId"], 7);

    let v09 = config(Schema::V09, &wallet(), Some(&worker()), Some(&reputer()));
    for field in [
        "addressKeyName",
        "chainId",
        "nodeRpcs",
        "nodeGrpcs",
        "accountSequenceRetryDelay",
        "blockDurationEstimated",
        "windowCorrectionFactor",
        "retryDelay",
    ] {
        assert!(
            v09["wallet"].get(field).is_some(),
            "v0.9 needs wallet.{field}"
        );
    }
    assert_eq!(v09["wallet"]["chainId"], "allora-testnet-1");
    assert!(v09["wallet"]["nodeGrpcs"]
        .as_array()
        .is_some_and(|g| !g.is_empty()));
    assert!(v09["wallet"].get("nodeRpc").is_none());
    assert_eq!(v09["reputer"][0]["minStake"], "100000");
    assert_eq!(v09["reputer"][0]["groundTruthEntrypointName"], "apiAdapter");
    assert_eq!(
        v09["reputer"][0]["lossFunctionParameters"]["LossMethodOptions"]["loss_method"],
        "sqe"
    );
    for v in [&v06, &v07, &v09] {
        assert_eq!(
            v["wallet"]["addressRestoreMnemonic"], "",
            "never the mnemonic"
        );
        assert_eq!(v["wallet"]["alloraHomeDir"], "/keyring");
    }
}

#[test]
fn without_keys_there_are_no_entries() {
    let v = config(Schema::V07, &wallet(), Some(&worker()), None);
    assert_eq!(v["reputer"], serde_json::json!([]));
}

#[test]
fn the_node_start_up_checks_are_made_before_deploying() {
    assert!(check(Schema::V07, &wallet()).is_empty());
    let problems = check(Schema::V06, &wallet());
    assert_eq!(problems[0].0, "ALLORA_WALLET_GAS_PRICES");
    let low = WalletInputs {
        window_correction: 0.3,
        gas_price_interval: 2,
        ..wallet()
    };
    let keys: Vec<_> = check(Schema::V09, &low).into_iter().map(|p| p.0).collect();
    assert_eq!(
        keys,
        [
            "ALLORA_WALLET_WINDOW_CORRECTION_FACTOR",
            "ALLORA_WALLET_GAS_PRICE_INTERVAL"
        ]
    );
}
