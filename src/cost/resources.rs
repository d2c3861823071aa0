//! What a rendered stack uses, read from its CloudFormation template rather than from blueprint
//! code, so that a new blueprint is estimated without code of its own: instances (type,
//! detailed monitoring, block devices, user data), EBS volumes, public IPv4 addresses (Elastic
//! IPs and the addresses instances get from their subnet), CloudWatch dashboards and Secrets
//! Manager secrets.
//!
//! The template is evaluated by the one evaluator (`crate::template::eval`): `Ref` to a
//! parameter gives the value nodectl deploys (the rendered template's `Default`), `Fn::If` and
//! resource `Condition`s are decided where possible. A condition that cannot be decided counts
//! as true (the resource is priced).

use serde_json::{Map, Value};

use crate::plan::{Lookup, StackSpec};
use crate::template::eval::{scalar, Evaluator, Pseudo, Undecided};

/// The default IOPS and throughput of a gp3 volume that does not set them (Amazon EBS User
/// Guide, "General Purpose SSD volumes": 3,000 IOPS and 125 MiB/s baseline).
pub(crate) const GP3_BASELINE: (i64, i64) = (3000, 125);

/// An EC2 instance of a stack.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InstanceUse {
    /// Its logical id.
    pub logical_id: String,
    /// `InstanceType`, when it could be resolved.
    pub instance_type: Option<String>,
    /// `Monitoring: true` (EC2 detailed monitoring, 1-minute metrics).
    pub detailed_monitoring: bool,
    /// Every string of its `UserData`, joined: what the instance runs at boot.
    pub user_data: String,
    /// Whether it gets a public IPv4 address from its subnet or network interface.
    pub auto_public_ip: bool,
}

/// An EBS volume: a block device of an instance or an `AWS::EC2::Volume`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VolumeUse {
    /// `root volume`, `volume /dev/sdf`, or the logical id in words (`data volume`).
    pub label: String,
    /// `VolumeType` (`gp3`, `io2`, ...; `instance-store` for a data volume the stack does not
    /// create because the instance store takes its place).
    pub kind: String,
    /// Size in GiB; 0 when the template does not set it (a root volume sized by its AMI).
    pub size_gib: i64,
    /// Provisioned IOPS (the gp3 baseline when not set).
    pub iops: i64,
    /// Provisioned throughput in MiB/s (the gp3 baseline when not set).
    pub mibps: i64,
    /// Whether it is an instance's root device (`/dev/xvda`, `/dev/sda1`).
    pub root: bool,
}

/// What one stack's template uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StackUse {
    /// The stack name.
    pub stack: String,
    /// The instances.
    pub instances: Vec<InstanceUse>,
    /// The EBS volumes (root devices first, in instance order, then volume resources).
    pub volumes: Vec<VolumeUse>,
    /// One entry per public IPv4 address: what holds it.
    pub public_ipv4: Vec<String>,
    /// The logical ids of `AWS::CloudWatch::Dashboard` resources.
    pub dashboards: Vec<String>,
    /// The logical ids of `AWS::SecretsManager::Secret` resources.
    pub secrets: Vec<String>,
    /// `AWS::CloudWatch::Alarm` resources: logical id and the metrics each reads (1 for a
    /// `MetricName` alarm; the `MetricStat` entries of a `Metrics` alarm).
    pub alarms: Vec<(String, usize)>,
    /// `AWS::Logs::LogGroup` resources: logical id and retention in days (`None`: never
    /// expires).
    pub log_groups: Vec<(String, Option<i64>)>,
    /// Created resources billed by use only (requests, stored GB, compute time; see
    /// [`USAGE_TYPES`]): `(logical id, what it is and how it is billed)`.
    pub usage: Vec<(String, &'static str)>,
    /// Created resources that are neither priced here nor in [`FREE_TYPES`]: `(logical id,
    /// type)`. Their cost, if any, is not in the estimate.
    pub unpriced: Vec<(String, String)>,
}

/// Resource types that have no monthly fee and are billed by use only, each with what it is
/// and its list price in us-east-1 (published on each service's pricing page; the estimate
/// shows them as usage-priced, never as an amount).
pub(crate) const USAGE_TYPES: &[(&str, &str)] = &[
    (
        "AWS::SQS::Queue",
        "SQS queue: 0.40 USD per million requests past the first million a month \
         (https://aws.amazon.com/sqs/pricing/)",
    ),
    (
        "AWS::S3::Bucket",
        "S3 bucket: 0.023 USD per GB-month stored (S3 Standard), 0.005 USD per 1,000 PUT and \
         0.0004 USD per 1,000 GET requests (https://aws.amazon.com/s3/pricing/)",
    ),
    (
        "AWS::Lambda::Function",
        "Lambda function: 0.20 USD per million requests and 0.0000166667 USD per GB-second, \
         past the first million requests and 400,000 GB-seconds a month \
         (https://aws.amazon.com/lambda/pricing/)",
    ),
    (
        "AWS::ApiGateway::RestApi",
        "API Gateway REST API: 3.50 USD per million requests \
         (https://aws.amazon.com/api-gateway/pricing/)",
    ),
];

/// Resource types that cost nothing by themselves (IAM, VPC plumbing, security groups,
/// associations, stack-internal helpers). What they carry (traffic through an internet
/// gateway, for example) is priced elsewhere or not estimated.
pub(crate) const FREE_TYPES: &[&str] = &[
    "AWS::IAM::Role",
    "AWS::IAM::InstanceProfile",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::EIPAssociation",
    "AWS::EC2::VolumeAttachment",
    "AWS::CloudFormation::WaitCondition",
    "AWS::CloudFormation::WaitConditionHandle",
    // No monthly fee; e-mail notifications past the free 1,000 a month are not estimated.
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    // Billed through what they attach to (a queue, a bucket, a function, an API).
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::Lambda::Permission",
    "AWS::ApiGateway::Account",
    "AWS::ApiGateway::Deployment",
    // A stage without a cache cluster has no fee of its own (requests are the API's).
    "AWS::ApiGateway::Stage",
];

/// Reads what `stack` (deployed in `region`) uses from its rendered template.
pub(crate) fn read(stack: &StackSpec, region: &str) -> StackUse {
    let template = &stack.template;
    let looked_up: Vec<&str> = stack
        .lookups
        .iter()
        .flat_map(|lookup| lookup.parameters())
        .collect();
    let default_subnet_params: Vec<&str> = stack
        .lookups
        .iter()
        .filter(|lookup| matches!(lookup, Lookup::DefaultVpc { .. }))
        .map(|_| "SubnetId")
        .collect();
    let eval = Eval {
        evaluator: Evaluator::new(
            template,
            Pseudo {
                region: region.to_string(),
                account: None,
                stack: stack.name.clone(),
            },
        )
        .undecided(Undecided::AssumeTrue),
        looked_up,
    };
    let mut usage = StackUse {
        stack: stack.name.clone(),
        ..StackUse::default()
    };
    let mut eips_on_instances = Vec::new();
    let mut volume_resources = Vec::new();
    for resource in template.resources() {
        let (id, kind, props) = (resource.id, resource.kind(), resource.properties());
        let created = eval.evaluator.created(&resource);
        match kind {
            "AWS::EC2::Instance" if created => {
                let instance = eval.instance(id, props, &default_subnet_params);
                usage.volumes.extend(eval.block_devices(props));
                usage.instances.push(instance);
            }
            "AWS::EC2::Volume" => volume_resources.push((id, props, created)),
            "AWS::EC2::EIP" if created => {
                usage.public_ipv4.push(format!("Elastic IP {id}"));
                if let Some(target) = eval.resource_ref(props.get("InstanceId")) {
                    eips_on_instances.push(target);
                }
            }
            "AWS::EC2::EIPAssociation" if created => {
                if let Some(target) = eval.resource_ref(props.get("InstanceId")) {
                    eips_on_instances.push(target);
                }
            }
            "AWS::CloudWatch::Dashboard" if created => usage.dashboards.push(id.to_string()),
            "AWS::SecretsManager::Secret" if created => usage.secrets.push(id.to_string()),
            "AWS::CloudWatch::Alarm" if created => {
                let metrics = match props.get("Metrics").and_then(|m| m.as_array()) {
                    Some(list) => list
                        .iter()
                        .filter(|m| m.get("MetricStat").is_some())
                        .count(),
                    None => 1,
                };
                usage.alarms.push((id.to_string(), metrics));
            }
            "AWS::Logs::LogGroup" if created => {
                let retention = props
                    .get("RetentionInDays")
                    .and_then(|days| eval.string(Some(days)))
                    .and_then(|days| days.parse().ok());
                usage.log_groups.push((id.to_string(), retention));
            }
            _ if created && USAGE_TYPES.iter().any(|(usage, _)| *usage == kind) => {
                let what = USAGE_TYPES
                    .iter()
                    .find(|(usage, _)| *usage == kind)
                    .map(|(_, what)| *what)
                    .expect("found");
                usage.usage.push((id.to_string(), what));
            }
            _ if created && !FREE_TYPES.contains(&kind) && !PRICED_TYPES.contains(&kind) => {
                usage.unpriced.push((id.to_string(), kind.to_string()));
            }
            _ => {}
        }
    }
    for (id, props, created) in volume_resources {
        let kind = eval
            .string(props.get("VolumeType"))
            .unwrap_or_else(|| "gp2".into());
        if !created && kind != "instance-store" {
            continue;
        }
        usage
            .volumes
            .push(eval.volume(words(id), kind, props, false));
    }
    for instance in &usage.instances {
        if instance.auto_public_ip && !eips_on_instances.contains(&instance.logical_id) {
            usage
                .public_ipv4
                .push(format!("public IPv4 of instance {}", instance.logical_id));
        }
    }
    usage
}

/// The resource types [`read`] prices.
const PRICED_TYPES: &[&str] = &[
    "AWS::EC2::Instance",
    "AWS::EC2::Volume",
    "AWS::EC2::EIP",
    "AWS::CloudWatch::Dashboard",
    "AWS::CloudWatch::Alarm",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
];

/// `DataVolume` → `data volume`.
fn words(logical_id: &str) -> String {
    let mut out = String::new();
    for (i, c) in logical_id.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

struct Eval<'a> {
    evaluator: Evaluator<'a>,
    looked_up: Vec<&'a str>,
}

/// The value of an expression, as far as it is known.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    /// A string, number or boolean, as a string.
    Text(String),
    /// `Ref` to a resource (its logical id).
    Resource(String),
    /// `Ref` to a parameter filled in at deploy time (a [`Lookup`]).
    LookedUp(String),
    /// A list.
    List(Vec<Value>),
    /// An object that is not a function.
    Object(Map<String, Value>),
    /// `AWS::NoValue`: the property is absent.
    Absent,
    /// Something an estimate does not evaluate (`Fn::GetAtt`, `Fn::Sub`, ...).
    Unknown,
}

impl Eval<'_> {
    /// Evaluates `value` and classifies the result.
    fn value(&self, value: Option<&Value>) -> Val {
        let Some(value) = value else {
            return Val::Absent;
        };
        match self.evaluator.value(value) {
            None | Some(Value::Null) => Val::Absent,
            Some(Value::Array(items)) => Val::List(items),
            Some(Value::Object(map)) if map.len() == 1 => {
                let (key, argument) = map.iter().next().expect("one entry");
                match (key.as_str(), argument.as_str()) {
                    ("Ref", Some(name)) if self.looked_up.contains(&name) => {
                        Val::LookedUp(name.to_string())
                    }
                    ("Ref", Some(name)) if self.evaluator.template().resource(name).is_some() => {
                        Val::Resource(name.to_string())
                    }
                    (key, _) if key == "Ref" || key.starts_with("Fn::") => Val::Unknown,
                    _ => Val::Object(map),
                }
            }
            Some(Value::Object(map)) => Val::Object(map),
            Some(other) => scalar(&other).map_or(Val::Unknown, Val::Text),
        }
    }

    fn string(&self, value: Option<&Value>) -> Option<String> {
        match self.value(value) {
            Val::Text(text) => Some(text),
            _ => None,
        }
    }

    fn integer(&self, value: Option<&Value>) -> Option<i64> {
        self.string(value)?.trim().parse().ok()
    }

    fn boolean(&self, value: Option<&Value>) -> Option<bool> {
        match self.string(value)?.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    fn resource_ref(&self, value: Option<&Value>) -> Option<String> {
        match self.value(value) {
            Val::Resource(id) => Some(id),
            _ => None,
        }
    }

    fn instance(
        &self,
        id: &str,
        props: &Map<String, Value>,
        default_subnet_params: &[&str],
    ) -> InstanceUse {
        let mut user_data = String::new();
        collect_strings(props.get("UserData"), &mut user_data);
        InstanceUse {
            logical_id: id.to_string(),
            instance_type: self.string(props.get("InstanceType")),
            detailed_monitoring: self.boolean(props.get("Monitoring")).unwrap_or(false),
            user_data,
            auto_public_ip: self.auto_public_ip(props, default_subnet_params),
        }
    }

    /// Whether an instance gets a public IPv4 address when launched: its network interface
    /// asks for one, or its subnet maps one on launch: a template subnet with
    /// `MapPublicIpOnLaunch: true`, or a default subnet (Amazon VPC User Guide, "Default
    /// subnets": instances launched into them get a public IPv4 address).
    fn auto_public_ip(&self, props: &Map<String, Value>, default_subnet_params: &[&str]) -> bool {
        if let Val::List(interfaces) = self.value(props.get("NetworkInterfaces")) {
            return interfaces.iter().any(|interface| {
                self.boolean(interface.get("AssociatePublicIpAddress")) == Some(true)
            });
        }
        match self.value(props.get("SubnetId")) {
            Val::LookedUp(param) => default_subnet_params.contains(&param.as_str()),
            Val::Resource(subnet) => self
                .evaluator
                .template()
                .resource(&subnet)
                .map(|s| self.boolean(s.property("MapPublicIpOnLaunch")) == Some(true))
                .unwrap_or(false),
            // No subnet: the default VPC's default subnet.
            Val::Absent => true,
            _ => false,
        }
    }

    fn block_devices(&self, props: &Map<String, Value>) -> Vec<VolumeUse> {
        let Val::List(mappings) = self.value(props.get("BlockDeviceMappings")) else {
            return Vec::new();
        };
        let mut volumes = Vec::new();
        for mapping in &mappings {
            let Val::Object(ebs) = self.value(mapping.get("Ebs")) else {
                continue;
            };
            let device = self
                .string(mapping.get("DeviceName"))
                .unwrap_or_else(|| "?".into());
            let root = matches!(device.as_str(), "/dev/xvda" | "/dev/sda1");
            let label = if root {
                "root volume".to_string()
            } else {
                format!("volume {device}")
            };
            let kind = self
                .string(ebs.get("VolumeType"))
                .unwrap_or_else(|| "gp2".into());
            volumes.push(self.volume(label, kind, &ebs, root));
        }
        volumes
    }

    fn volume(
        &self,
        label: String,
        kind: String,
        props: &Map<String, Value>,
        root: bool,
    ) -> VolumeUse {
        let size = props.get("Size").or_else(|| props.get("VolumeSize"));
        let (iops, mibps) = if kind == "gp3" { GP3_BASELINE } else { (0, 0) };
        VolumeUse {
            label,
            size_gib: self.integer(size).unwrap_or(0),
            iops: self.integer(props.get("Iops")).unwrap_or(iops),
            mibps: self.integer(props.get("Throughput")).unwrap_or(mibps),
            kind,
            root,
        }
    }
}

/// Appends every string inside `value` (through `Fn::Base64`, `Fn::Sub`, `Fn::Join`, ...).
fn collect_strings(value: Option<&Value>, out: &mut String) {
    match value {
        Some(Value::String(s)) => {
            out.push_str(s);
            out.push('\n');
        }
        Some(Value::Array(items)) => items.iter().for_each(|v| collect_strings(Some(v), out)),
        Some(Value::Object(map)) => map.values().for_each(|v| collect_strings(Some(v), out)),
        _ => {}
    }
}

#[cfg(test)]
#[path = "resources_tests.rs"]
mod tests;
