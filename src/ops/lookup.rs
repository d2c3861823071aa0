//! Deploy-time lookups: template parameter values a stack takes from the account (the default
//! VPC, its CIDR block and a subnet) rather than from the `.env` file. Resolved right before a
//! deploy, after the account check; `render` leaves these parameters without a default.

use crate::aws::ec2::Ec2;
use crate::aws::ssm::Ssm;
use crate::aws::AwsError;
use crate::error::{Error, Result};
use crate::plan::{Lookup, Plan, StackSpec};
use crate::stack::Engine;

/// The network a [`Lookup::DefaultVpc`] resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultVpc {
    /// `vpc-…`.
    pub vpc_id: String,
    /// The VPC's primary IPv4 CIDR block, e.g. `172.31.0.0/16`.
    pub vpc_cidr: String,
    /// `subnet-…`: a default subnet (public: it maps public IPv4 addresses on launch).
    pub subnet_id: String,
    /// The subnet's Availability Zone, e.g. `us-east-1a`.
    pub availability_zone: String,
}

impl DefaultVpc {
    /// As template parameters, in [`Lookup::parameters`] order.
    pub fn parameters(&self) -> Vec<(String, String)> {
        vec![
            ("VpcId".into(), self.vpc_id.clone()),
            ("VpcCidr".into(), self.vpc_cidr.clone()),
            ("SubnetId".into(), self.subnet_id.clone()),
            ("AvailabilityZone".into(), self.availability_zone.clone()),
        ]
    }
}

/// Which AMI a node stack's [`Lookup::Ami`] resolves to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ImageChoice {
    /// `deploy`: the AMI the deployed stack runs (pinned when it was created), or the latest
    /// for a new stack. A routine redeploy never replaces a node.
    #[default]
    Keep,
    /// `upgrade`: the latest AMI of the blueprint's public SSM parameter.
    Latest,
    /// `upgrade --image ami-...`: this AMI.
    Given(String),
}

fn aws_error(action: String, err: AwsError) -> Error {
    let hint = err.generic_hint();
    Error::aws(action, err, hint)
}

/// `stack` with the values of its lookups added to its parameters. A stack that exists
/// already keeps the values it was deployed with (a different subnet would replace the
/// instance and its data volume); otherwise each lookup asks EC2. Prints what it chose.
///
/// Errors: no default VPC (hint: `aws ec2 create-default-vpc`), no default subnet, the
/// instance type offered in none of the VPC's zones, or an AWS error.
pub async fn resolve(
    engine: &Engine<'_>,
    ec2: &Ec2,
    ssm: &Ssm,
    stack: &StackSpec,
    image: &ImageChoice,
) -> Result<StackSpec> {
    let mut resolved = stack.clone();
    if stack.lookups.is_empty() {
        return Ok(resolved);
    }
    let previous = deployed_parameters(engine, &stack.name).await?;
    for lookup in &stack.lookups {
        if let Lookup::Output {
            parameter,
            stack: source,
            output,
        } = lookup
        {
            let value = stack_output(engine, source, output, &stack.name).await?;
            resolved.parameters.push((parameter.clone(), value));
            continue;
        }
        let names = lookup.parameters();
        let kept: Vec<(String, String)> = names
            .iter()
            .filter_map(|name| {
                previous
                    .iter()
                    .find(|(key, value)| key == name && !value.is_empty())
                    .cloned()
            })
            .collect();
        let moved = matches!(lookup, Lookup::Ami { .. }) && *image != ImageChoice::Keep;
        if kept.len() == names.len() && !moved {
            engine.observer.note(&format!(
                "keeping the {} of the deployed stack `{}`: {}",
                match lookup {
                    Lookup::DefaultVpc { .. } => "network",
                    Lookup::Ami { .. } => "AMI",
                    Lookup::Output { .. } => "output",
                },
                stack.name,
                kept.iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            resolved.parameters.extend(kept);
            continue;
        }
        match lookup {
            Lookup::DefaultVpc { instance_type } => {
                let vpc = default_vpc(ec2, &engine.region, &stack.name, instance_type).await?;
                engine.observer.note(&format!(
                    "default VPC {} ({}), subnet {} in {}",
                    vpc.vpc_id, vpc.vpc_cidr, vpc.subnet_id, vpc.availability_zone
                ));
                resolved.parameters.extend(vpc.parameters());
            }
            Lookup::Ami { parameter } if moved => {
                let (chosen, why) = match image {
                    ImageChoice::Given(ami) => (ami.clone(), "--image".to_string()),
                    _ => (
                        latest_image(ssm, &engine.region, parameter).await?,
                        format!("the latest {parameter}"),
                    ),
                };
                let before = match kept.first() {
                    Some((_, value)) => Some(value.clone()),
                    None => running_image(engine, ec2, &stack.name, &previous).await?,
                };
                engine.observer.note(&match before {
                    Some(before) if before == chosen => {
                        format!("stack `{}` runs AMI {chosen} ({why}) already", stack.name)
                    }
                    Some(before) => {
                        format!("stack `{}`: AMI {before} -> {chosen} ({why})", stack.name)
                    }
                    None => format!("stack `{}`: AMI {chosen} ({why})", stack.name),
                });
                resolved.parameters.push(("ImageId".into(), chosen));
            }
            Lookup::Output { .. } => unreachable!("resolved above"),
            Lookup::Ami { parameter } => {
                let image = match running_image(engine, ec2, &stack.name, &previous).await? {
                    Some(image) => {
                        engine.observer.note(&format!(
                            "keeping the AMI the node of `{}` runs: {image}",
                            stack.name
                        ));
                        image
                    }
                    None => {
                        let image = latest_image(ssm, &engine.region, parameter).await?;
                        engine
                            .observer
                            .note(&format!("AMI {image} (the latest {parameter})"));
                        image
                    }
                };
                resolved.parameters.push(("ImageId".into(), image));
            }
        }
    }
    Ok(resolved)
}

/// The value of output `output` of the deployed stack `source`, for a parameter of `stack`.
/// Errors: the stack is not deployed or has no such output (deploy it first), or an AWS error.
pub async fn stack_output(
    engine: &Engine<'_>,
    source: &str,
    output: &str,
    stack: &str,
) -> Result<String> {
    let info = engine.describe_for(source, "read").await?;
    info.as_ref()
        .and_then(|info| info.outputs.iter().find(|o| o.key == output))
        .map(|found| found.value.clone())
        .ok_or_else(|| {
            Error::usage(
                format!(
                    "stack `{stack}` needs the output {output} of stack `{source}`, which {} in \
                     `{}`",
                    if info.is_some() {
                        "does not have it"
                    } else {
                        "does not exist"
                    },
                    engine.region
                ),
                format!("deploy `{source}` first (`nodectl deploy all` deploys both in order)"),
            )
        })
}

/// For each deployed node stack of `stacks` whose pinned AMI (its `ImageId` parameter) is not
/// the latest of its blueprint's public SSM parameter: a line saying so and how to move it
/// (`nodectl upgrade`), for `status`. A parameter is read once; a read that fails leaves its
/// stacks out (said at debug level): this is advice, never an error.
pub async fn newer_images(engine: &Engine<'_>, ssm: &Ssm, stacks: &[&StackSpec]) -> Vec<String> {
    let mut latest: Vec<(&str, Option<String>)> = Vec::new();
    let mut lines = Vec::new();
    for stack in stacks {
        let Some(parameter) = stack.lookups.iter().find_map(|lookup| match lookup {
            Lookup::Ami { parameter } => Some(parameter.as_str()),
            _ => None,
        }) else {
            continue;
        };
        let pinned = match engine.cfn.parameters(&stack.name).await {
            Ok(Some((_, parameters))) => parameters
                .into_iter()
                .find(|(key, value)| key == "ImageId" && !value.is_empty())
                .map(|(_, value)| value),
            _ => None,
        };
        let Some(pinned) = pinned else { continue };
        let newest = match latest.iter().find(|(known, _)| *known == parameter) {
            Some((_, image)) => image.clone(),
            None => {
                let image = match ssm.parameter(parameter).await {
                    Ok(image) => image,
                    Err(err) => {
                        tracing::debug!("cannot read {parameter}: {err}");
                        None
                    }
                };
                latest.push((parameter, image.clone()));
                image
            }
        };
        if let Some(newest) = newest.filter(|newest| *newest != pinned) {
            lines.push(format!(
                "stack `{}` runs AMI {pinned}; the latest {parameter} is {newest}: `nodectl \
                 upgrade --node {}` moves it, keeping its data",
                stack.name, stack.id
            ));
        }
    }
    lines
}

/// The AMI the instance of the deployed stack `name` runs, for a stack deployed before its
/// AMI was a parameter of its own (`previous` has no `ImageId`); `None` for a new stack.
async fn running_image(
    engine: &Engine<'_>,
    ec2: &Ec2,
    name: &str,
    previous: &[(String, String)],
) -> Result<Option<String>> {
    if previous.is_empty() {
        return Ok(None);
    }
    let resources = engine
        .cfn
        .resources(name)
        .await
        .map_err(|err| engine.error("read", name, err))?
        .unwrap_or_default();
    let Some(instance) = resources
        .iter()
        .find(|r| r.resource_type == "AWS::EC2::Instance" && !r.physical_id.is_empty())
    else {
        return Ok(None);
    };
    let found = ec2.instance(&instance.physical_id).await.map_err(|err| {
        aws_error(
            format!("cannot describe instance {}", instance.physical_id),
            err,
        )
    })?;
    Ok(found.and_then(|i| i.image_id))
}

/// The latest AMI from the public Parameter Store `parameter` (GetParameter). Errors: the
/// region has no such parameter, or an AWS error.
async fn latest_image(ssm: &Ssm, region: &str, parameter: &str) -> Result<String> {
    ssm.parameter(parameter)
        .await
        .map_err(|err| {
            aws_error(
                format!("cannot read the latest AMI ({parameter}) in `{region}`"),
                err,
            )
        })?
        .ok_or_else(|| {
            Error::usage(
                format!(
                    "`{region}` has no public parameter {parameter} (the latest Amazon Linux AMI)"
                ),
                "check the region; `aws ssm get-parameters-by-path --path \
                 /aws/service/ami-amazon-linux-latest` lists what it has",
            )
        })
}

/// The parameters of the deployed stack `name`, or none when it does not exist (or only as a
/// stack in REVIEW_IN_PROGRESS, which has no resources).
async fn deployed_parameters(engine: &Engine<'_>, name: &str) -> Result<Vec<(String, String)>> {
    let described = engine
        .read("reading the stack's parameters", || {
            engine.cfn.parameters(name)
        })
        .await
        .map_err(|err| engine.error("read", name, err))?;
    match described {
        Some((status, _))
            if matches!(status.as_str(), "REVIEW_IN_PROGRESS" | "DELETE_COMPLETE") =>
        {
            Ok(Vec::new())
        }
        Some((_, parameters)) => Ok(parameters),
        None => Ok(Vec::new()),
    }
}

/// Finds the region's default VPC and a default subnet in the first Availability Zone (by
/// name) that offers `instance_type` (EC2 DescribeVpcs `isDefault`, DescribeSubnets
/// `default-for-az`, DescribeInstanceTypeOfferings; Amazon VPC User Guide, "Default VPCs").
pub async fn default_vpc(
    ec2: &Ec2,
    region: &str,
    stack: &str,
    instance_type: &str,
) -> Result<DefaultVpc> {
    // The zones that offer the instance type do not depend on the VPC: asked at the same time.
    let (network, offered) = tokio::join!(
        default_network(ec2, region, stack),
        ec2.zones_offering(instance_type)
    );
    let (vpc_id, vpc_cidr, mut subnets) = network?;
    let (availability_zone, subnet_id) = match offered {
        Ok(zones) => subnets
            .into_iter()
            .find(|(zone, _)| zones.contains(zone))
            .ok_or_else(|| {
                Error::usage(
                    format!(
                        "instance type {instance_type} is offered in none of the zones of the \
                         default VPC {vpc_id} in `{region}`{}",
                        if zones.is_empty() {
                            String::new()
                        } else {
                            format!(" (it is offered in {})", zones.join(", "))
                        }
                    ),
                    "choose an instance type offered in the region (`aws ec2 \
                     describe-instance-type-offerings --location-type availability-zone`), or \
                     create a default subnet in a zone that offers it",
                )
            })?,
        Err(err) => {
            // Only a hint for the zone choice: without it, the first zone by name.
            tracing::warn!(
                "cannot list the zones that offer {instance_type} ({err}); using the first \
                 default subnet"
            );
            subnets.remove(0)
        }
    };
    Ok(DefaultVpc {
        vpc_id,
        vpc_cidr,
        subnet_id,
        availability_zone,
    })
}

/// The region's default VPC (id, CIDR block) and its default subnets (zone, subnet id).
async fn default_network(
    ec2: &Ec2,
    region: &str,
    stack: &str,
) -> Result<(String, String, Vec<(String, String)>)> {
    let Some((vpc_id, vpc_cidr)) = ec2.default_vpc().await.map_err(|e| {
        aws_error(
            format!("cannot look up the default VPC in `{region}` (EC2 DescribeVpcs)"),
            e,
        )
    })?
    else {
        return Err(Error::usage(
            format!(
                "there is no default VPC in `{region}`, and stack `{stack}` puts the node in it"
            ),
            format!(
                "create it with `aws ec2 create-default-vpc --region {region}`, then deploy again"
            ),
        ));
    };
    let subnets = ec2.default_subnets(&vpc_id).await.map_err(|e| {
        aws_error(
            format!("cannot list the subnets of the default VPC {vpc_id} (EC2 DescribeSubnets)"),
            e,
        )
    })?;
    if subnets.is_empty() {
        return Err(Error::usage(
            format!("the default VPC {vpc_id} in `{region}` has no default subnet"),
            format!(
                "create one with `aws ec2 create-default-subnet --availability-zone \
                 {region}a --region {region}`, then deploy again"
            ),
        ));
    }
    Ok((vpc_id, vpc_cidr, subnets))
}

/// Checks that the region offers every EC2 instance type the `selected` stacks launch
/// (`AWS::EC2::Instance` resources, [`crate::template::eval::instance_types`]), all at once
/// and before any stack is deployed, so that an instance type the region lacks stops
/// `deploy all` before `common` is created rather than in a rollback of the node stack.
///
/// Errors: a type the region does not offer (with a hint to list the ones it does), or an AWS
/// error. A failed check for other reasons (no permission for DescribeInstanceTypeOfferings)
/// only warns: CloudFormation will say it again.
pub async fn check_offerings(ec2: &Ec2, plan: &Plan, selected: &[&StackSpec]) -> Result<()> {
    let mut types: Vec<String> = Vec::new();
    for stack in selected {
        let pseudo = crate::template::eval::Pseudo {
            region: plan.region.clone(),
            account: None,
            stack: stack.name.clone(),
        };
        for instance_type in crate::template::eval::instance_types(&stack.template, pseudo) {
            if !types.contains(&instance_type) {
                types.push(instance_type);
            }
        }
    }
    for instance_type in &types {
        match ec2.offered_in_region(instance_type).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(Error::usage(
                    format!(
                        "instance type {instance_type} is not offered in `{}`",
                        plan.region
                    ),
                    format!(
                        "choose one the region offers (`aws ec2 describe-instance-type-offerings \
                         --region {} --filters Name=instance-type,Values={}*`), or another region",
                        plan.region,
                        instance_type.split('.').next().unwrap_or(instance_type)
                    ),
                ))
            }
            Err(err) if err.kind == crate::aws::AwsErrorKind::Service => tracing::warn!(
                "cannot check that `{}` offers {instance_type} ({err}); deploying anyway",
                plan.region
            ),
            Err(err) => {
                return Err(aws_error(
                    format!(
                        "cannot check that `{}` offers {instance_type} (EC2 \
                     DescribeInstanceTypeOfferings)",
                        plan.region
                    ),
                    err,
                ))
            }
        }
    }
    Ok(())
}
