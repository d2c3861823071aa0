//! Tests of [`super`]: what a rendered template's resources are read as.
use super::*;
use crate::template::Template;

/// The stack of `template` with `parameters` as defaults, as rendering sets them.
fn stack(mut template: Value, parameters: &[(&str, &str)], lookups: Vec<Lookup>) -> StackSpec {
    for (name, value) in parameters {
        template["Parameters"][name]["Default"] = Value::String(value.to_string());
    }
    let mut spec = StackSpec::new(
        "single-node",
        "node",
        "us-east-1",
        Template::from_value(template),
    );
    spec.lookups = lookups;
    spec
}

fn read(stack: &StackSpec) -> Result<StackUse, ()> {
    Ok(super::read(stack, "us-east-1"))
}

fn template() -> Value {
    serde_json::json!({
        "Parameters": {
            "InstanceType": {"Type": "String", "Default": "t3.medium"},
            "DataVolumeType": {"Type": "String", "Default": "gp3"},
            "DataVolumeSize": {"Type": "Number", "Default": "256"},
            "DataVolumeIops": {"Type": "Number", "Default": "3000"},
            "DataVolumeThroughput": {"Type": "Number", "Default": "125"},
            "SubnetId": {"Type": "AWS::EC2::Subnet::Id"}
        },
        "Conditions": {
            "HasDataVolume": {"Fn::Not": [{"Fn::Equals": [{"Ref": "DataVolumeType"}, "instance-store"]}]},
            "DataVolumeIsGp3": {"Fn::Equals": [{"Ref": "DataVolumeType"}, "gp3"]}
        },
        "Resources": {
            "DataVolume": {
                "Type": "AWS::EC2::Volume",
                "Condition": "HasDataVolume",
                "Properties": {
                    "Size": {"Ref": "DataVolumeSize"},
                    "VolumeType": {"Ref": "DataVolumeType"},
                    "Iops": {"Ref": "DataVolumeIops"},
                    "Throughput": {"Fn::If": ["DataVolumeIsGp3", {"Ref": "DataVolumeThroughput"}, {"Ref": "AWS::NoValue"}]}
                }
            },
            "Instance": {
                "Type": "AWS::EC2::Instance",
                "Properties": {
                    "InstanceType": {"Ref": "InstanceType"},
                    "SubnetId": {"Ref": "SubnetId"},
                    "Monitoring": true,
                    "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeType": "gp3", "VolumeSize": 46, "Iops": 3000}}],
                    "UserData": {"Fn::Base64": {"Fn::Sub": "#!/bin/bash\necho hello\n"}}
                }
            },
            "Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}}
        }
    })
}

#[test]
fn parameters_conditions_and_defaults_are_evaluated() {
    let default_vpc = vec![Lookup::DefaultVpc {
        instance_type: "g4dn.xlarge".into(),
    }];
    let usage = read(&stack(
        template(),
        &[("InstanceType", "g4dn.xlarge"), ("DataVolumeIops", "10000")],
        default_vpc,
    ))
    .unwrap();
    assert_eq!(usage.instances.len(), 1);
    let instance = &usage.instances[0];
    assert_eq!(instance.instance_type.as_deref(), Some("g4dn.xlarge"));
    assert!(instance.detailed_monitoring);
    assert!(instance.auto_public_ip);
    assert!(instance.user_data.contains("echo hello"));
    assert_eq!(
        usage.volumes,
        [
            VolumeUse {
                label: "root volume".into(),
                kind: "gp3".into(),
                size_gib: 46,
                iops: 3000,
                mibps: 125,
                root: true,
            },
            VolumeUse {
                label: "data volume".into(),
                kind: "gp3".into(),
                size_gib: 256,
                iops: 10_000,
                mibps: 125,
                root: false,
            },
        ]
    );
    assert_eq!(usage.public_ipv4, ["public IPv4 of instance Instance"]);
    assert_eq!(usage.dashboards, ["Dashboard"]);
    assert!(usage.unpriced.is_empty());
}

#[test]
fn resources_of_unknown_cost_are_listed_and_usage_priced_ones_named() {
    let mut template = template();
    let resources = template["Resources"].as_object_mut().unwrap();
    resources.insert(
        "Table".into(),
        serde_json::json!({"Type": "AWS::DynamoDB::Table", "Properties": {}}),
    );
    resources.insert(
        "Queue".into(),
        serde_json::json!({"Type": "AWS::SQS::Queue", "Properties": {}}),
    );
    let usage = read(&stack(template, &[], Vec::new())).unwrap();
    assert_eq!(
        usage.unpriced,
        [("Table".to_string(), "AWS::DynamoDB::Table".to_string())]
    );
    assert_eq!(usage.usage.len(), 1);
    assert_eq!(usage.usage[0].0, "Queue");
    assert!(usage.usage[0]
        .1
        .starts_with("SQS queue: 0.40 USD per million requests"));
}

#[test]
fn log_groups_are_read_with_their_retention() {
    let mut template = template();
    let resources = template["Resources"].as_object_mut().unwrap();
    resources.insert(
        "Kept".into(),
        serde_json::json!({"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}}),
    );
    resources.insert(
        "Forever".into(),
        serde_json::json!({"Type": "AWS::Logs::LogGroup", "Properties": {}}),
    );
    let usage = read(&stack(template, &[], Vec::new())).unwrap();
    assert_eq!(
        usage.log_groups,
        [
            ("Kept".to_string(), Some(30)),
            ("Forever".to_string(), None)
        ]
    );
    assert!(usage.unpriced.is_empty());
}

#[test]
fn an_instance_store_data_volume_is_kept_as_such_and_io2_has_no_throughput() {
    let usage = read(&stack(
        template(),
        &[("DataVolumeType", "instance-store")],
        Vec::new(),
    ))
    .unwrap();
    assert_eq!(usage.volumes[1].kind, "instance-store");
    // A subnet parameter that no lookup fills is not known to map public addresses.
    assert!(usage.public_ipv4.is_empty());

    let usage = read(&stack(template(), &[("DataVolumeType", "io2")], Vec::new())).unwrap();
    assert_eq!(
        (
            usage.volumes[1].kind.as_str(),
            usage.volumes[1].iops,
            usage.volumes[1].mibps
        ),
        ("io2", 3000, 0)
    );
}

#[test]
fn an_elastic_ip_replaces_the_instance_address() {
    let mut template = template();
    let resources = template["Resources"].as_object_mut().unwrap();
    resources.insert(
        "Subnet".into(),
        serde_json::json!({"Type": "AWS::EC2::Subnet", "Properties": {"MapPublicIpOnLaunch": true}}),
    );
    resources["Instance"]["Properties"]["SubnetId"] = serde_json::json!({"Ref": "Subnet"});
    resources.insert(
        "Eip".into(),
        serde_json::json!({"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}}),
    );
    resources.insert(
        "EipAssociation".into(),
        serde_json::json!({"Type": "AWS::EC2::EIPAssociation", "Properties": {"InstanceId": {"Ref": "Instance"}}}),
    );
    let usage = read(&stack(template.clone(), &[], Vec::new())).unwrap();
    assert_eq!(usage.public_ipv4, ["Elastic IP Eip"]);

    // Without the association: the idle Elastic IP and the instance's own address.
    template["Resources"]
        .as_object_mut()
        .unwrap()
        .remove("EipAssociation");
    let usage = read(&stack(template, &[], Vec::new())).unwrap();
    assert_eq!(
        usage.public_ipv4,
        ["Elastic IP Eip", "public IPv4 of instance Instance"]
    );
}
