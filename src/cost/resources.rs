//! What a rendered stack uses, read from its CloudFormation template rather than from blueprint
//! code, so that a new blueprint is estimated without code of its own: instances (type,
//! detailed monitoring, block devices, user data), EBS volumes, public IPv4 addresses (Elastic
//! IPs and the addresses instances get from their subnet), CloudWatch dashboards and Secrets
//! Manager secrets.
//!
//! The template is evaluated as far as an estimate needs: `Ref` to a parameter gives the value
//! nodectl deploys (its [`StackPlan::parameters`], else the template's `Default`), `Fn::If` and
//! resource `Condition`s are decided with `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` and
//! `Condition`. A condition that cannot be decided counts as true (the resource is priced).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::blueprint::{Lookup, StackPlan};

/// The default IOPS and throughput of a gp3 volume that does not set them (Amazon EBS User
/// Guide, "General Purpose SSD volumes": 3,000 IOPS and 125 MiB/s baseline).
pub const GP3_BASELINE: (i64, i64) = (3000, 125);

/// An EC2 instance of a stack.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceUse {
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
pub struct VolumeUse {
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
pub struct StackUse {
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
    /// Created resources that are neither priced here nor in [`FREE_TYPES`]: `(logical id,
    /// type)`. Their cost, if any, is not in the estimate.
    pub unpriced: Vec<(String, String)>,
}

/// Resource types that cost nothing by themselves (IAM, VPC plumbing, security groups,
/// associations, stack-internal helpers). What they carry (traffic through an internet
/// gateway, for example) is priced elsewhere or not estimated.
pub const FREE_TYPES: &[&str] = &[
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
];

/// Reads what `stack` uses from its rendered template. Errors: the template is not a JSON
/// object with `Resources` (only possible with `NODECTL_TEMPLATES_DIR`).
pub fn read(stack: &StackPlan) -> Result<StackUse, String> {
    let template: Value = serde_json::from_str(&stack.template)
        .map_err(|err| format!("the template of `{}` is not JSON: {err}", stack.name))?;
    let empty = Map::new();
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("the template of `{}` has no Resources", stack.name))?;
    let mut params: HashMap<String, String> = HashMap::new();
    if let Some(declared) = template.get("Parameters").and_then(Value::as_object) {
        for (name, spec) in declared {
            if let Some(default) = spec.get("Default").and_then(scalar) {
                params.insert(name.clone(), default);
            }
        }
    }
    for (name, value) in &stack.parameters {
        params.insert(name.clone(), value.clone());
    }
    let looked_up: Vec<&str> = stack
        .lookups
        .iter()
        .flat_map(|lookup| lookup.parameters().iter().copied())
        .collect();
    let default_subnet_params: Vec<&str> = stack
        .lookups
        .iter()
        .filter(|lookup| matches!(lookup, Lookup::DefaultVpc { .. }))
        .map(|_| "SubnetId")
        .collect();
    let eval = Eval {
        params,
        looked_up,
        conditions: template
            .get("Conditions")
            .and_then(Value::as_object)
            .unwrap_or(&empty),
        resources,
    };

    let mut usage = StackUse {
        stack: stack.name.clone(),
        ..StackUse::default()
    };
    let mut eips_on_instances = Vec::new();
    let mut volume_resources = Vec::new();
    for (id, resource) in resources {
        let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("");
        let props = resource
            .get("Properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let created = eval.created(resource);
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
            "AWS::CloudWatch::Dashboard" if created => usage.dashboards.push(id.clone()),
            "AWS::SecretsManager::Secret" if created => usage.secrets.push(id.clone()),
            _ if created && !FREE_TYPES.contains(&kind) && !PRICED_TYPES.contains(&kind) => {
                usage.unpriced.push((id.clone(), kind.to_string()));
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
    Ok(usage)
}

/// The resource types [`read`] prices.
const PRICED_TYPES: &[&str] = &[
    "AWS::EC2::Instance",
    "AWS::EC2::Volume",
    "AWS::EC2::EIP",
    "AWS::CloudWatch::Dashboard",
    "AWS::SecretsManager::Secret",
];

/// A parameter default or value as CloudFormation passes it: a string.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

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
    params: HashMap<String, String>,
    looked_up: Vec<&'a str>,
    conditions: &'a Map<String, Value>,
    resources: &'a Map<String, Value>,
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
    fn value(&self, value: Option<&Value>) -> Val {
        let Some(value) = value else {
            return Val::Absent;
        };
        match value {
            Value::Null => Val::Absent,
            Value::Array(items) => Val::List(items.clone()),
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" => self.reference(arg.as_str().unwrap_or("")),
                    "Fn::If" => match arg.as_array().map(Vec::as_slice) {
                        Some([Value::String(cond), then, otherwise]) => {
                            if self.condition(cond).unwrap_or(true) {
                                self.value(Some(then))
                            } else {
                                self.value(Some(otherwise))
                            }
                        }
                        _ => Val::Unknown,
                    },
                    key if key.starts_with("Fn::") => Val::Unknown,
                    _ => Val::Object(map.clone()),
                }
            }
            Value::Object(map) => Val::Object(map.clone()),
            other => scalar(other).map_or(Val::Unknown, Val::Text),
        }
    }

    fn reference(&self, name: &str) -> Val {
        if name == "AWS::NoValue" {
            return Val::Absent;
        }
        if let Some(value) = self.params.get(name) {
            return Val::Text(value.clone());
        }
        if self.looked_up.contains(&name) {
            return Val::LookedUp(name.to_string());
        }
        if self.resources.contains_key(name) {
            return Val::Resource(name.to_string());
        }
        Val::Unknown
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

    /// Decides the named condition; `None` when it uses what is not evaluated.
    fn condition(&self, name: &str) -> Option<bool> {
        self.decide(self.conditions.get(name)?)
    }

    fn decide(&self, expr: &Value) -> Option<bool> {
        let map = expr.as_object().filter(|m| m.len() == 1)?;
        let (key, arg) = map.iter().next()?;
        let args = arg.as_array();
        match key.as_str() {
            "Fn::Equals" => match args.map(Vec::as_slice) {
                Some([a, b]) => match (self.value(Some(a)), self.value(Some(b))) {
                    (Val::Text(a), Val::Text(b)) => Some(a == b),
                    _ => None,
                },
                _ => None,
            },
            "Fn::Not" => match args.map(Vec::as_slice) {
                Some([inner]) => self.decide(inner).map(|b| !b),
                _ => None,
            },
            "Fn::And" => args?
                .iter()
                .map(|c| self.decide(c))
                .try_fold(true, |acc, b| Some(acc && b?)),
            "Fn::Or" => args?
                .iter()
                .map(|c| self.decide(c))
                .try_fold(false, |acc, b| Some(acc || b?)),
            "Condition" => self.condition(arg.as_str()?),
            _ => None,
        }
    }

    /// Whether a resource is created: no `Condition`, or one that holds (or is undecided).
    fn created(&self, resource: &Value) -> bool {
        match resource.get("Condition").and_then(Value::as_str) {
            Some(name) => self.condition(name).unwrap_or(true),
            None => true,
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
                .resources
                .get(&subnet)
                .and_then(|s| s.get("Properties"))
                .map(|p| self.boolean(p.get("MapPublicIpOnLaunch")) == Some(true))
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
mod tests {
    use super::*;
    use crate::blueprint::StackRole;

    fn stack(template: Value, parameters: &[(&str, &str)], lookups: Vec<Lookup>) -> StackPlan {
        StackPlan {
            role: StackRole::SingleNode,
            name: "node".into(),
            template: template.to_string(),
            parameters: parameters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            tags: Vec::new(),
            lookups,
        }
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
    fn resources_of_unknown_cost_are_listed() {
        let mut template = template();
        template["Resources"].as_object_mut().unwrap().insert(
            "FlowLogs".into(),
            serde_json::json!({"Type": "AWS::Logs::LogGroup", "Properties": {}}),
        );
        let usage = read(&stack(template, &[], Vec::new())).unwrap();
        assert_eq!(
            usage.unpriced,
            [("FlowLogs".to_string(), "AWS::Logs::LogGroup".to_string())]
        );
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
}
