//! `nodectl cost`: the monthly estimate through the real binary, offline (no AWS request
//! without `--price-list`), and the Price List API's response parsed from an `aws-smithy-mocks`
//! GetProducts response written from the AWS Price List documentation.

use serde_json::Value;

use crate::support::{theta_sample, Tripwire, Workspace, UPSTREAM_WARNINGS};

/// The upstream Theta sample in the upstream README's cost configuration: us-east-1 and a
/// 256 GB gp3 data volume of 10,000 IOPS (README: "g4dn.xlarge EBS gp3 volumes about 256
/// GB(10000 IOPS, 125 MBps/s throughput) ... around US$439.46 per month in the US East (N.
/// Virginia) region").
fn theta_seed_config() -> String {
    let text = theta_sample("123456789012");
    let iops = text
        .lines()
        .find(|l| l.starts_with("EDGE_DATA_VOL_IOPS="))
        .expect("an IOPS line")
        .to_string();
    text.replace("AWS_REGION=\"us-east-2\"", "AWS_REGION=\"us-east-1\"")
        .replace(&iops, "EDGE_DATA_VOL_IOPS=\"10000\"")
}

/// The row of `item` (from the item to the monthly amount, blanks squeezed).
fn row(stdout: &str, item: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(item))
        .unwrap_or_else(|| panic!("no `{item}` row in\n{stdout}"));
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A US-cent amount of a JSON number of USD.
fn cents(value: &Value) -> i64 {
    (value.as_f64().expect("a number") * 100.0).round() as i64
}

#[test]
fn the_theta_seed_configuration_costs_the_seeds_439_46_plus_the_other_lines() {
    let tripwire = Tripwire::new();
    let mut workspace = Workspace::new(&theta_seed_config());
    workspace.set("AWS_ENDPOINT_URL", &tripwire.endpoint);
    workspace.set("AWS_ACCESS_KEY_ID", "testing");
    workspace.set("AWS_SECRET_ACCESS_KEY", "testing");
    let out = workspace.run(&["cost"]);
    out.success();
    assert_eq!(out.stderr, "");
    assert_eq!(tripwire.connections(), 0, "an AWS request was made");
    let stdout = &out.stdout;
    assert!(
        stdout.starts_with(
            "Monthly cost estimate of the theta stacks in us-east-1: on-demand, 730 h/month, \
             prices from 2026-11-22 (pricing/on-demand.json)\n"
        ),
        "{stdout}"
    );
    // The three lines of the seed's estimate: 383.98 + 20.48 + 35.00 = 439.46.
    for (item, expected) in [
        (
            "EC2 instance g4dn.xlarge",
            "EC2 instance g4dn.xlarge 730 h 0.526 USD/h 383.98",
        ),
        (
            "data volume: gp3 storage",
            "data volume: gp3 storage 256 GiB-month 0.08 USD/GiB-month 20.48",
        ),
        (
            "data volume: gp3 IOPS",
            "data volume: gp3 IOPS above 3000 7000 IOPS-month 0.005 USD/IOPS-month 35.00",
        ),
        (
            "of which instance and data volume",
            "of which instance and data volume 439.46",
        ),
        // What the seed's estimate leaves out.
        (
            "root volume",
            "root volume: gp3 storage 46 GiB-month 0.08 USD/GiB-month 3.68",
        ),
        (
            "public IPv4",
            "public IPv4 address 730 h 0.005 USD/h 3.65",
        ),
        (
            "CloudWatch dashboard",
            "CloudWatch dashboard [1] 1 dashboard-month 3.00 USD/dashboard-month 3.00",
        ),
        (
            "EC2 detailed monitoring",
            "EC2 detailed monitoring [3] 7 metric-month 0.30 USD/metric-month 2.10",
        ),
        (
            "custom metrics: theta-edge-metrics timer",
            "custom metrics: theta-edge-metrics timer [3] 2 metric-month 0.30 USD/metric-month 0.60",
        ),
        (
            "Secrets Manager secret",
            "Secrets Manager secret 1 secret-month 0.40 USD/secret-month 0.40",
        ),
        // The alarms (issue 13): one metric each.
        (
            "CloudWatch alarm BlockHeightAlarm",
            "CloudWatch alarm BlockHeightAlarm [2] 1 alarm-metric-month 0.10 USD/alarm-metric-month 0.10",
        ),
        (
            "CloudWatch alarm PeerCountAlarm",
            "CloudWatch alarm PeerCountAlarm [2] 1 alarm-metric-month 0.10 USD/alarm-metric-month 0.10",
        ),
        (
            "CloudWatch alarm InstanceStatusAlarm",
            "CloudWatch alarm InstanceStatusAlarm [2] 1 alarm-metric-month 0.10 USD/alarm-metric-month 0.10",
        ),
    ] {
        assert_eq!(row(stdout, item), expected);
    }
    // The CloudWatch agent's metrics (their number follows the user data's configuration).
    assert!(row(stdout, "custom metrics: CloudWatch agent").contains(" metric-month 0.30 USD/"));
    assert!(stdout.contains(
        "\n[1] an account's first 3 dashboards are free (CloudWatch free tier); the line is the \
         list price\n"
    ));
    // The total is the sum of the printed lines.
    let amounts: i64 = stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.contains("of which"))
        .map(|l| {
            let amount = l.split_whitespace().last().unwrap();
            (amount.parse::<f64>().unwrap() * 100.0).round() as i64
        })
        .sum();
    let total = row(stdout, "total");
    assert_eq!(
        total,
        format!("total {}.{:02}", amounts / 100, amounts % 100),
        "{stdout}"
    );
}

#[test]
fn the_allora_sample_is_estimated_with_its_elastic_ip() {
    let out = Workspace::upstream("123456789012").run(&["cost"]);
    out.success();
    assert_eq!(out.stderr, UPSTREAM_WARNINGS);
    let stdout = &out.stdout;
    for (item, expected) in [
        (
            "EC2 instance",
            "EC2 instance t3.medium 730 h 0.0416 USD/h 30.37",
        ),
        (
            "data volume",
            "data volume: gp3 storage 256 GiB-month 0.08 USD/GiB-month 20.48",
        ),
        (
            "root volume",
            "root volume: gp3 storage 46 GiB-month 0.08 USD/GiB-month 3.68",
        ),
        // The Elastic IP replaces the subnet's address: one public IPv4 address.
        ("public IPv4", "public IPv4 address 730 h 0.005 USD/h 3.65"),
        (
            "custom metrics: CloudWatch agent",
            "custom metrics: CloudWatch agent [3] 3 metric-month 0.30 USD/metric-month 0.90",
        ),
        (
            "Secrets Manager secret",
            "Secrets Manager secret 1 secret-month 0.40 USD/secret-month 0.40",
        ),
        (
            "of which instance and data volume",
            "of which instance and data volume 50.85",
        ),
        (
            "CloudWatch alarm InstanceStatusAlarm",
            "CloudWatch alarm InstanceStatusAlarm [2] 1 alarm-metric-month 0.10 USD/alarm-metric-month 0.10",
        ),
        (
            "custom metrics: allora-node-metrics timer",
            "custom metrics: allora-node-metrics timer [3] 1 metric-month 0.30 USD/metric-month 0.30",
        ),
        (
            "CloudWatch alarm RecoveryAlarm",
            "CloudWatch alarm RecoveryAlarm [2] 1 alarm-metric-month 0.10 USD/alarm-metric-month 0.10",
        ),
        ("total", "total 65.08"),
    ] {
        assert_eq!(row(stdout, item), expected);
    }
    // The Theta seed's g4dn has instance store volumes: EC2 cannot recover it, no alarm for it.
    let theta = Workspace::new(&theta_seed_config()).run(&["cost"]);
    theta.success();
    assert!(!theta.stdout.contains("RecoveryAlarm"), "{}", theta.stdout);
    // The upstream sample is a dry run (ALLORA_WALLET_SUBMIT_TX=false): no submission alarm.
    assert!(!stdout.contains("SubmissionAlarm"), "{stdout}");
    assert!(
        !stdout.contains("IOPS above"),
        "3000 IOPS cost nothing extra"
    );
}

#[test]
fn an_instance_type_not_in_the_table_is_an_unknown_line_and_a_warning() {
    let text = theta_seed_config().replace(
        "EDGE_NODE_INSTANCE_TYPE=\"g4dn.xlarge\"",
        "EDGE_NODE_INSTANCE_TYPE=\"g6.xlarge\"",
    );
    let out = Workspace::new(&text).run(&["cost"]);
    out.success();
    assert_eq!(
        out.stderr,
        "warning: no price for instance type `g6.xlarge` in `us-east-1` in the built-in price \
         table (2026-11-22): the instance line is unknown and not in the total (`nodectl cost \
         --price-list` asks the AWS Price List API)\n"
    );
    assert_eq!(
        row(&out.stdout, "EC2 instance"),
        "EC2 instance g6.xlarge 730 h unknown unknown"
    );
    // 20.48 + 35.00 of the data volume, and the other lines as in the seed configuration.
    assert_eq!(
        row(&out.stdout, "of which instance and data volume"),
        "of which instance and data volume 55.48"
    );
    assert!(row(&out.stdout, "total without the 1 unknown line").starts_with("total without"));

    let out = Workspace::new(&text).run(&["cost", "--output", "json"]);
    out.success();
    let estimate: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(estimate["unknownLines"], 1);
    let instance = &estimate["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["category"] == "instance")
        .expect("an instance line");
    assert_eq!(instance["unitPriceUsd"], Value::Null);
    assert_eq!(instance["monthlyUsd"], Value::Null);
}

#[test]
fn a_region_not_in_the_table_leaves_every_line_unknown() {
    let out = Workspace::new(&theta_seed_config()).run(&["cost", "--region", "eu-west-1"]);
    out.success();
    assert_eq!(
        out.stderr,
        "warning: region `eu-west-1` is not in the built-in price table (2026-11-22), which \
         covers us-east-1, us-east-2: its lines are unknown and not in the total (`nodectl cost \
         --price-list` asks the AWS Price List API for the instance price)\n"
    );
    assert!(row(&out.stdout, "total without").ends_with(" 0.00"));
}

#[test]
fn the_json_estimate_adds_up() {
    let out = Workspace::new(&theta_seed_config()).run(&["cost", "--output", "json"]);
    out.success();
    assert_eq!(out.stderr, "");
    let estimate: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(estimate["blueprint"], "theta");
    assert_eq!(estimate["region"], "us-east-1");
    assert_eq!(estimate["pricing"], "on-demand");
    assert_eq!(estimate["hoursPerMonth"], 730.0);
    assert_eq!(estimate["priceTable"]["date"], "2026-11-22");
    assert_eq!(estimate["unknownLines"], 0);
    let lines = estimate["lines"].as_array().expect("lines");
    let mut sum = 0;
    for line in lines {
        for key in ["stack", "item", "unit", "source"] {
            assert!(line[key].is_string(), "{key} of {line}");
        }
        let expected =
            (line["quantity"].as_f64().unwrap() * line["unitPriceUsd"].as_f64().unwrap() * 100.0)
                .round() as i64;
        assert_eq!(cents(&line["monthlyUsd"]), expected, "{line}");
        sum += expected;
    }
    assert_eq!(cents(&estimate["totalUsd"]), sum);
    assert_eq!(cents(&estimate["instanceAndDataVolumeUsd"]), 43946);
    let instance = lines
        .iter()
        .find(|l| l["category"] == "instance")
        .expect("an instance line");
    assert_eq!(instance["item"], "EC2 instance g4dn.xlarge");
    assert_eq!(instance["stack"], "theta-edge-single-node-mainnet");
    assert_eq!(instance["source"], "table:ec2-gpu");
    let secret = lines
        .iter()
        .find(|l| l["category"] == "secrets")
        .expect("the secret line");
    // The node's own secret, which nodectl writes for the node stack.
    assert_eq!(secret["stack"], "theta-edge-single-node-mainnet");
}

#[test]
fn price_list_without_credentials_falls_back_to_the_table() {
    let out = Workspace::new(&theta_seed_config()).run(&["cost", "--price-list"]);
    out.success();
    assert_eq!(
        out.stderr,
        "asking the AWS Price List API for the on-demand price of g4dn.xlarge in us-east-1\n\
         warning: the AWS Price List API gave no price for `g4dn.xlarge` in `us-east-1` (no AWS \
         credentials were found); the built-in price table (2026-11-22) is used\n"
    );
    assert_eq!(
        row(&out.stdout, "EC2 instance"),
        "EC2 instance g4dn.xlarge 730 h 0.526 USD/h 383.98"
    );
}

mod price_list {
    use aws_sdk_pricing::config::retry::RetryConfig;
    use aws_sdk_pricing::operation::get_products::GetProductsOutput;
    use aws_sdk_pricing::types::FilterType;
    use aws_sdk_pricing::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use nodectl::cost::price_list::instance_hourly;

    /// One product of a GetProducts `PriceList` for AmazonEC2, as the AWS Billing User Guide
    /// ("Reading the service price list file for an AWS service") lays out the JSON format: the
    /// product and its attributes, then its terms: `OnDemand` (one offer term, one price
    /// dimension per hour) and `Reserved`.
    const G4DN_XLARGE: &str = r#"{
      "product": {
        "productFamily": "Compute Instance",
        "attributes": {
          "enhancedNetworkingSupported": "Yes", "intelTurboAvailable": "Yes", "memory": "16 GiB",
          "dedicatedEbsThroughput": "Up to 3500 Mbps", "vcpu": "4", "classicnetworkingsupport": "false",
          "capacitystatus": "Used", "locationType": "AWS Region", "storage": "1 x 125 NVMe SSD",
          "instanceFamily": "GPU instance", "operatingSystem": "Linux", "intelAvx2Available": "Yes",
          "regionCode": "us-east-1", "physicalProcessor": "Intel Xeon Family", "clockSpeed": "2.5 GHz",
          "ecu": "NA", "networkPerformance": "Up to 25 Gigabit", "servicename": "Amazon Elastic Compute Cloud",
          "gpuMemory": "16 GiB", "vpcnetworkingsupport": "true", "instanceType": "g4dn.xlarge",
          "tenancy": "Shared", "usagetype": "BoxUsage:g4dn.xlarge", "normalizationSizeFactor": "8",
          "intelAvxAvailable": "Yes", "processorFeatures": "Intel AVX; Intel AVX2; Intel AVX512; Intel Turbo",
          "servicecode": "AmazonEC2", "licenseModel": "No License required", "currentGeneration": "Yes",
          "preInstalledSw": "NA", "location": "US East (N. Virginia)", "processorArchitecture": "64-bit",
          "marketoption": "OnDemand", "operation": "RunInstances", "gpu": "1", "availabilityzone": "NA"
        },
        "sku": "CZ7P6PCB3F2S3ZRM"
      },
      "serviceCode": "AmazonEC2",
      "terms": {
        "OnDemand": {
          "CZ7P6PCB3F2S3ZRM.JRTCKXETXF": {
            "priceDimensions": {
              "CZ7P6PCB3F2S3ZRM.JRTCKXETXF.6YS6EN2CT7": {
                "unit": "Hrs", "endRange": "Inf",
                "description": "$0.526 per On Demand Linux g4dn.xlarge Instance Hour",
                "appliesTo": [], "rateCode": "CZ7P6PCB3F2S3ZRM.JRTCKXETXF.6YS6EN2CT7",
                "beginRange": "0", "pricePerUnit": {"USD": "0.5260000000"}
              }
            },
            "sku": "CZ7P6PCB3F2S3ZRM", "effectiveDate": "2026-11-01T00:00:00Z",
            "offerTermCode": "JRTCKXETXF", "termAttributes": {}
          }
        },
        "Reserved": {
          "CZ7P6PCB3F2S3ZRM.4NA7Y494T4": {
            "priceDimensions": {
              "CZ7P6PCB3F2S3ZRM.4NA7Y494T4.6YS6EN2CT7": {
                "unit": "Hrs", "endRange": "Inf",
                "description": "Linux/UNIX (Amazon VPC), g4dn.xlarge reserved instance applied",
                "appliesTo": [], "rateCode": "CZ7P6PCB3F2S3ZRM.4NA7Y494T4.6YS6EN2CT7",
                "beginRange": "0", "pricePerUnit": {"USD": "0.3310000000"}
              }
            },
            "sku": "CZ7P6PCB3F2S3ZRM", "effectiveDate": "2026-11-01T00:00:00Z",
            "offerTermCode": "4NA7Y494T4",
            "termAttributes": {"LeaseContractLength": "1yr", "OfferingClass": "standard", "PurchaseOption": "No Upfront"}
          }
        }
      },
      "version": "20261115000000",
      "publicationDate": "2026-11-15T00:00:00Z"
    }"#;

    #[tokio::test]
    async fn the_on_demand_hourly_price_is_read_from_get_products() {
        let rule = mock!(Client::get_products)
            .match_requests(|r| {
                let filter = |field: &str| {
                    r.filters()
                        .iter()
                        .find(|f| f.field() == field && *f.r#type() == FilterType::TermMatch)
                        .map(|f| f.value().to_string())
                };
                r.service_code() == Some("AmazonEC2")
                    && filter("instanceType").as_deref() == Some("g4dn.xlarge")
                    && filter("regionCode").as_deref() == Some("us-east-1")
                    && filter("operatingSystem").as_deref() == Some("Linux")
                    && filter("tenancy").as_deref() == Some("Shared")
                    && filter("preInstalledSw").as_deref() == Some("NA")
                    && filter("capacitystatus").as_deref() == Some("Used")
            })
            .then_output(|| {
                GetProductsOutput::builder()
                    .format_version("aws_v1")
                    .price_list(G4DN_XLARGE)
                    .build()
            });
        let client = mock_client!(aws_sdk_pricing, RuleMode::MatchAny, [&rule], |config| {
            config.retry_config(RetryConfig::disabled())
        });
        let price = instance_hourly(&client, "g4dn.xlarge", "us-east-1").await;
        assert_eq!(price, Ok(0.526));
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_empty_price_list_is_an_error_not_a_price() {
        let rule = mock!(Client::get_products).then_output(|| {
            GetProductsOutput::builder()
                .format_version("aws_v1")
                .build()
        });
        let client = mock_client!(aws_sdk_pricing, RuleMode::MatchAny, [&rule], |config| {
            config.retry_config(RetryConfig::disabled())
        });
        assert_eq!(
            instance_hourly(&client, "g6.xlarge", "us-east-2").await,
            Err("no on-demand Linux price for `g6.xlarge` in `us-east-2`".to_string())
        );
    }
}

/// The SDK worker node (nodectl's sample) has a log group: its ingestion and storage are priced
/// with the assumed volume and say so, and no resource is left unpriced.
#[test]
fn the_sdk_workers_log_group_is_priced_with_its_assumption() {
    let sample =
        std::fs::read_to_string(crate::support::repo().join("sample-configs/allora.env")).unwrap();
    let out = Workspace::new(&sample).run(&["cost"]);
    out.success();
    assert_eq!(out.stderr, "", "no unpriced resource");
    let stdout = out.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "CloudWatch Logs ingestion WorkerLogGroup [3] 0.10 GB 0.50 USD/GB 0.05",
        "CloudWatch Logs storage WorkerLogGroup [3] 0.10 GB-month 0.03 USD/GB-month 0.00",
        "[3] assumes 0.1 GB of log a month, stored for the group's retention",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{}", out.stdout);
    }
}
