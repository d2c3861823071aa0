//! Amazon EC2 (Amazon EC2 API Reference): the default VPC, its subnets, and which zones offer
//! an instance type, for the deploy-time lookups; a node's instance (state, status checks,
//! reboot) for the day-2 commands; stopping, starting and moving a data volume between
//! instances for a replacement that keeps the node's data.

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{Filter, LocationType};

use super::AwsError;

/// An EC2 client.
#[derive(Debug, Clone)]
pub struct Ec2 {
    client: aws_sdk_ec2::Client,
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

impl Ec2 {
    /// A client over `sdk`.
    pub fn new(sdk: &SdkConfig) -> Self {
        Ec2 {
            client: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(sdk)
                    .interceptor(super::CallCounter)
                    .build(),
            ),
        }
    }

    /// A wrapper around an existing client (tests use mocked ones).
    pub fn from_client(client: aws_sdk_ec2::Client) -> Self {
        Ec2 { client }
    }

    /// The region's default VPC as `(vpc id, primary IPv4 CIDR block)`, if there is one
    /// (DescribeVpcs, filter `isDefault`).
    pub async fn default_vpc(&self) -> Result<Option<(String, String)>, AwsError> {
        let vpcs = self
            .client
            .describe_vpcs()
            .filters(filter("isDefault", "true"))
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(vpcs.vpcs().first().map(|vpc| {
            (
                vpc.vpc_id().unwrap_or_default().to_string(),
                vpc.cidr_block().unwrap_or_default().to_string(),
            )
        }))
    }

    /// The default subnets of `vpc_id` as `(Availability Zone, subnet id)`, sorted by zone
    /// (DescribeSubnets, filters `vpc-id` and `default-for-az`).
    pub async fn default_subnets(&self, vpc_id: &str) -> Result<Vec<(String, String)>, AwsError> {
        let subnets = self
            .client
            .describe_subnets()
            .filters(filter("vpc-id", vpc_id))
            .filters(filter("default-for-az", "true"))
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        let mut found: Vec<(String, String)> = subnets
            .subnets()
            .iter()
            .filter_map(|s| {
                Some((
                    s.availability_zone()?.to_string(),
                    s.subnet_id()?.to_string(),
                ))
            })
            .collect();
        found.sort();
        Ok(found)
    }

    /// The Availability Zones that offer `instance_type` (DescribeInstanceTypeOfferings,
    /// location type `availability-zone`).
    pub async fn zones_offering(&self, instance_type: &str) -> Result<Vec<String>, AwsError> {
        let output = self
            .client
            .describe_instance_type_offerings()
            .location_type(LocationType::AvailabilityZone)
            .filters(filter("instance-type", instance_type))
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(output
            .instance_type_offerings()
            .iter()
            .filter_map(|o| o.location().map(str::to_string))
            .collect())
    }

    /// Whether the region of this client offers `instance_type` (DescribeInstanceTypeOfferings
    /// with `LocationType` `region` and an `instance-type` filter: an empty list means no;
    /// Amazon EC2 API Reference).
    pub async fn offered_in_region(&self, instance_type: &str) -> Result<bool, AwsError> {
        let output = self
            .client
            .describe_instance_type_offerings()
            .location_type(LocationType::Region)
            .filters(filter("instance-type", instance_type))
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(!output.instance_type_offerings().is_empty())
    }

    /// The instance `instance_id` (DescribeInstances), `None` if EC2 does not know it.
    pub async fn instance(&self, instance_id: &str) -> Result<Option<Instance>, AwsError> {
        let output = match self
            .client
            .describe_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)
        {
            Ok(output) => output,
            Err(err) if err.code.as_deref() == Some("InvalidInstanceID.NotFound") => {
                return Ok(None)
            }
            Err(err) => return Err(err),
        };
        Ok(output
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id))
            .map(|i| Instance {
                id: instance_id.to_string(),
                state: i
                    .state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_else(|| "unknown".into()),
                instance_type: i.instance_type().map(|t| t.as_str().to_string()),
                image_id: i.image_id().map(str::to_string),
                public_ip: i.public_ip_address().map(str::to_string),
                launch_time: i.launch_time().map(|t| t.to_string()),
            }))
    }

    /// The instance's EC2 status checks as `(system, instance)` (`ok`, `impaired`,
    /// `initializing`, `insufficient-data`, `not-applicable`), from DescribeInstanceStatus;
    /// `None` when EC2 reports none (a stopped instance).
    pub async fn status_checks(
        &self,
        instance_id: &str,
    ) -> Result<Option<(String, String)>, AwsError> {
        let output = self
            .client
            .describe_instance_status()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(output.instance_statuses().first().map(|status| {
            let summary = |s: Option<&aws_sdk_ec2::types::InstanceStatusSummary>| {
                s.and_then(|s| s.status())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "unknown".into())
            };
            (
                summary(status.system_status()),
                summary(status.instance_status()),
            )
        }))
    }

    /// Starts a snapshot of `volume_id` (CreateSnapshot) with `description` and `tags` on the
    /// snapshot; returns its id. The snapshot is point-in-time at this call; it completes in the
    /// background (Amazon EBS User Guide, "Create Amazon EBS snapshots").
    pub async fn create_snapshot(
        &self,
        volume_id: &str,
        description: &str,
        tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        let spec = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::Snapshot)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .build();
        let output = self
            .client
            .create_snapshot()
            .volume_id(volume_id)
            .description(description)
            .tag_specifications(spec)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(output.snapshot_id().unwrap_or_default().to_string())
    }

    /// The state of a snapshot (DescribeSnapshots): `pending`, `completed`, `error`,
    /// `recoverable`, `recovering`, with its progress (`"42%"`).
    pub async fn snapshot_state(&self, snapshot_id: &str) -> Result<(String, String), AwsError> {
        let output = self
            .client
            .describe_snapshots()
            .snapshot_ids(snapshot_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(output
            .snapshots()
            .first()
            .map(|s| {
                (
                    s.state()
                        .map(|st| st.as_str().to_string())
                        .unwrap_or_default(),
                    s.progress().unwrap_or_default().to_string(),
                )
            })
            .unwrap_or_else(|| ("missing".into(), String::new())))
    }

    /// Stops the instance (StopInstances; an EBS-backed instance keeps its volumes, an
    /// instance-store disk is erased). Returns at once; see [`Ec2::instance`] for its state.
    pub async fn stop(&self, instance_id: &str) -> Result<(), AwsError> {
        self.client
            .stop_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }

    /// Starts a stopped instance (StartInstances). Returns at once.
    pub async fn start(&self, instance_id: &str) -> Result<(), AwsError> {
        self.client
            .start_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }

    /// The EBS volume `volume_id` (DescribeVolumes), `None` if EC2 does not know it.
    pub async fn volume(&self, volume_id: &str) -> Result<Option<Volume>, AwsError> {
        let output = match self
            .client
            .describe_volumes()
            .volume_ids(volume_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)
        {
            Ok(output) => output,
            Err(err) if err.code.as_deref() == Some("InvalidVolume.NotFound") => return Ok(None),
            Err(err) => return Err(err),
        };
        Ok(output.volumes().first().map(|v| Volume {
            id: volume_id.to_string(),
            state: v
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "unknown".into()),
            attachments: v
                .attachments()
                .iter()
                .map(|a| Attachment {
                    instance_id: a.instance_id().unwrap_or_default().to_string(),
                    device: a.device().unwrap_or_default().to_string(),
                    state: a
                        .state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                })
                .collect(),
        }))
    }

    /// Detaches `volume_id` from `instance_id` (DetachVolume; the instance should be stopped
    /// first, Amazon EBS User Guide, "Detach an Amazon EBS volume"). Returns at once.
    pub async fn detach_volume(&self, volume_id: &str, instance_id: &str) -> Result<(), AwsError> {
        self.client
            .detach_volume()
            .volume_id(volume_id)
            .instance_id(instance_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }

    /// Attaches the available volume `volume_id` to `instance_id` as `device` (`/dev/sdf`;
    /// AttachVolume). Returns at once.
    pub async fn attach_volume(
        &self,
        volume_id: &str,
        instance_id: &str,
        device: &str,
    ) -> Result<(), AwsError> {
        self.client
            .attach_volume()
            .volume_id(volume_id)
            .instance_id(instance_id)
            .device(device)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }

    /// Reboots the instance (RebootInstances: an operating-system reboot, same host, same
    /// volumes and addresses).
    pub async fn reboot(&self, instance_id: &str) -> Result<(), AwsError> {
        self.client
            .reboot_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }
}

/// An EC2 instance as the day-2 commands show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// The instance id, `i-...`.
    pub id: String,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`.
    pub state: String,
    /// The instance type, e.g. `t3.medium`.
    pub instance_type: Option<String>,
    /// The AMI it was launched from, `ami-...`.
    pub image_id: Option<String>,
    /// The public IPv4 address, if any.
    pub public_ip: Option<String>,
    /// When it was launched (RFC 3339).
    pub launch_time: Option<String>,
}

/// An EBS volume, for moving a node's data volume between instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// `vol-...`.
    pub id: String,
    /// `creating`, `available`, `in-use`, `deleting`, `deleted`, `error`.
    pub state: String,
    /// Its attachments (at most one for a volume without Multi-Attach).
    pub attachments: Vec<Attachment>,
}

/// A volume's attachment to an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The instance, `i-...`.
    pub instance_id: String,
    /// The device name the instance sees it as, e.g. `/dev/sdf`.
    pub device: String,
    /// `attaching`, `attached`, `detaching`, `detached`, `busy`.
    pub state: String,
}
