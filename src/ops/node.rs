//! Reaching a node: its stack (one of the plan's node stacks, chosen with `--node`), its
//! instance (found among the stack's resources, never by name), whether it can take a command
//! (running, SSM agent online), and running a shell script on it through SSM Run Command,
//! waiting with the shared poller. The day-2 operations ([`super::health`], [`super::logs`],
//! `exec`, `restart`, `rpc`) build on this.

use std::sync::Mutex;
use std::time::Duration;

use crate::aws::cloudformation::CloudFormation;
use crate::aws::ec2::{Ec2, Instance};
use crate::aws::poll::{PollConfig, Poller};
use crate::aws::ssm::{Agent, Invocation, Ssm};
use crate::aws::AwsError;
use crate::blueprint;
use crate::error::{Error, Result};
use crate::node::NodeProfile;
use crate::observer::Observer;
use crate::plan::{Plan, StackSpec};

use super::Session;

/// How long SSM may take to hand a command to the agent and report back, on top of the
/// command's own timeout (SendCommand's delivery timeout is at least 30 s).
const DELIVERY: Duration = Duration::from_secs(60);

/// The SSM command this process is waiting for (client, command id, instance id), so that an
/// interruption can cancel it ([`cancel_running`]) instead of leaving it running on the node.
static RUNNING: Mutex<Option<(Ssm, String, String)>> = Mutex::new(None);

/// Cancels the SSM command this process is waiting for, if any (CancelCommand); returns what
/// was cancelled, for the interruption's message. Best effort: a failure is ignored.
pub async fn cancel_running() -> Option<String> {
    let running = RUNNING.lock().ok()?.take();
    let (ssm, command_id, instance_id) = running?;
    ssm.cancel(&command_id, &instance_id).await.ok()?;
    Some(format!(
        "cancelled SSM command {command_id} on instance {instance_id}"
    ))
}

/// Clears [`RUNNING`] when a wait ends, however it ends.
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut running) = RUNNING.lock() {
            *running = None;
        }
    }
}

/// The node stacks of `plan` (the stacks that hold a node: those with a node secret).
pub fn node_stacks(plan: &Plan) -> Vec<&StackSpec> {
    plan.stacks.iter().filter(|stack| stack.is_node()).collect()
}

/// The node stack `requested` (a stack id), or the plan's only one. Errors: the blueprint runs
/// no node; the id is not a node stack of the plan; several node stacks and none chosen.
pub fn select<'p>(
    plan: &'p Plan,
    requested: Option<&str>,
) -> Result<(&'p StackSpec, &'static NodeProfile)> {
    let runs_no_node = || {
        Error::usage(
            format!("the {} blueprint runs no node to operate", plan.blueprint),
            "use `nodectl status` to see its stacks",
        )
    };
    let found = blueprint::find(plan.blueprint).ok_or_else(runs_no_node)?;
    let nodes = node_stacks(plan);
    if found.node(&[]).is_none() {
        return Err(runs_no_node());
    }
    let ids: Vec<&str> = nodes.iter().map(|stack| stack.id.as_str()).collect();
    let stack = match requested {
        Some(id) => plan.node(id).ok_or_else(|| {
            Error::usage(
                format!("`{id}` is not a node stack of this {} plan", plan.blueprint),
                format!("its node stacks: {}", ids.join(", ")),
            )
        })?,
        None => match nodes.as_slice() {
            [only] => only,
            [] => {
                return Err(Error::usage(
                    format!("this {} plan has no node stack", plan.blueprint),
                    "check the .env file",
                ))
            }
            _ => {
                return Err(Error::usage(
                    "this plan has several node stacks; say which one",
                    format!("add --node ID, one of: {}", ids.join(", ")),
                ))
            }
        },
    };
    let profile = found.node(&stack.parameters).ok_or_else(runs_no_node)?;
    Ok((stack, profile))
}

/// A node located on AWS: its stack and its instance.
#[derive(Debug, Clone)]
pub struct Located {
    /// The node stack's name.
    pub stack: String,
    /// The instance id, `i-...`.
    pub instance_id: String,
}

/// The AWS clients of the day-2 commands.
pub struct NodeOps<'a> {
    /// CloudFormation (the node's stack).
    pub cfn: CloudFormation,
    /// EC2 (the instance).
    pub ec2: Ec2,
    /// Systems Manager (the agent, Run Command).
    pub ssm: Ssm,
    /// Where progress goes.
    pub observer: &'a dyn Observer,
    /// How often to poll a command.
    pub poll: PollConfig,
    /// The region, for messages.
    pub region: String,
}

impl<'a> NodeOps<'a> {
    /// The clients of `session`, reporting to `observer`.
    pub fn new(session: &Session, observer: &'a dyn Observer) -> Self {
        NodeOps {
            cfn: CloudFormation::from_sdk(&session.sdk),
            ec2: Ec2::new(&session.sdk),
            ssm: Ssm::new(&session.sdk),
            observer,
            poll: PollConfig::from_env(),
            region: session.region.clone(),
        }
    }

    fn aws_error(&self, action: String, err: AwsError) -> Error {
        let hint = err.generic_hint();
        Error::aws(action, err, hint)
    }

    /// Finds the instance of `stack` among its resources (DescribeStackResources, the one
    /// `AWS::EC2::Instance`). Errors: the stack does not exist (hint: deploy it), it has no
    /// instance (yet).
    pub async fn locate(&self, stack: &StackSpec) -> Result<Located> {
        let resources = self
            .cfn
            .resources(&stack.name)
            .await
            .map_err(|err| {
                self.aws_error(
                    format!(
                        "cannot read the resources of stack `{}` in `{}`",
                        stack.name, self.region
                    ),
                    err,
                )
            })?
            .ok_or_else(|| {
                Error::usage(
                    format!("stack `{}` does not exist in `{}`", stack.name, self.region),
                    format!("deploy it first: nodectl deploy {}", stack.id),
                )
            })?;
        let instance = resources
            .iter()
            .find(|r| r.resource_type == "AWS::EC2::Instance" && !r.physical_id.is_empty())
            .ok_or_else(|| {
                Error::usage(
                    format!("stack `{}` has no instance (yet)", stack.name),
                    "see `nodectl status`; deploy the stack again if it failed",
                )
            })?;
        Ok(Located {
            stack: stack.name.clone(),
            instance_id: instance.physical_id.clone(),
        })
    }

    /// The instance (DescribeInstances). Errors: EC2 does not know it.
    pub async fn instance(&self, node: &Located) -> Result<Instance> {
        self.ec2
            .instance(&node.instance_id)
            .await
            .map_err(|err| {
                self.aws_error(
                    format!("cannot describe instance {}", node.instance_id),
                    err,
                )
            })?
            .ok_or_else(|| {
                Error::usage(
                    format!(
                        "instance {} of stack `{}` does not exist",
                        node.instance_id, node.stack
                    ),
                    "it was terminated outside CloudFormation: deploy the stack again",
                )
            })
    }

    /// The SSM agent of the node (DescribeInstanceInformation), `None` if it never registered.
    pub async fn agent(&self, node: &Located) -> Result<Option<Agent>> {
        self.ssm.agent(&node.instance_id).await.map_err(|err| {
            self.aws_error(
                format!("cannot read the SSM agent of instance {}", node.instance_id),
                err,
            )
        })
    }

    /// Checks that the node can take a command: its instance is running and its SSM agent
    /// online. Errors name the state and the usual causes.
    pub async fn reachable(&self, node: &Located) -> Result<()> {
        let instance = self.instance(node).await?;
        if instance.state != "running" {
            return Err(Error::usage(
                format!(
                    "instance {} of stack `{}` is {}",
                    node.instance_id, node.stack, instance.state
                ),
                match instance.state.as_str() {
                    "stopped" | "stopping" => format!(
                        "start it: aws ec2 start-instances --instance-ids {} --region {}",
                        node.instance_id, self.region
                    ),
                    "pending" => "wait a minute for it to boot, then try again".into(),
                    _ => "deploy the stack again to replace it".into(),
                },
            ));
        }
        match self.agent(node).await? {
            Some(agent) if agent.ping_status == "Online" => Ok(()),
            found => Err(Error::usage(
                format!(
                    "the SSM agent of instance {} ({}) is {}",
                    node.instance_id,
                    node.stack,
                    match &found {
                        Some(agent) => agent.ping_status.clone(),
                        None => "not registered with Systems Manager".into(),
                    }
                ),
                "the usual causes: the instance has no route to the SSM endpoints (ssm, \
                 ssmmessages, ec2messages over HTTPS), its role lacks \
                 AmazonSSMManagedInstanceCore, or it is still booting (a few minutes)",
            )),
        }
    }

    /// Runs `lines` on the node as one bash script (as root) and waits for the result, at
    /// most `timeout` for the script (then SSM stops it: status `TimedOut`) plus the delivery.
    /// Errors: SSM refused the command, or it did not finish in time.
    pub async fn run(
        &self,
        node: &Located,
        lines: Vec<String>,
        timeout: Duration,
        comment: &str,
    ) -> Result<Invocation> {
        let command_id = self
            .ssm
            .send_shell(&node.instance_id, lines, timeout.as_secs(), comment)
            .await
            .map_err(|err| {
                self.aws_error(
                    format!(
                        "cannot send a command to instance {} ({}) through SSM",
                        node.instance_id, node.stack
                    ),
                    err,
                )
            })?;
        tracing::debug!("SSM command {command_id} on {}", node.instance_id);
        if let Ok(mut running) = RUNNING.lock() {
            *running = Some((
                self.ssm.clone(),
                command_id.clone(),
                node.instance_id.clone(),
            ));
        }
        let _running = Running;
        let mut poller = Poller::new(self.poll, Some(timeout + DELIVERY));
        loop {
            match self.ssm.invocation(&command_id, &node.instance_id).await {
                Ok(Some(invocation)) if invocation.finished => return Ok(invocation),
                Ok(_) => poller.idle(),
                Err(err) if err.is_transient() => poller.throttled(),
                Err(err) => {
                    return Err(self.aws_error(
                        format!(
                            "cannot read SSM command {command_id} on {}",
                            node.instance_id
                        ),
                        err,
                    ))
                }
            }
            if poller.timed_out() {
                let _ = self.ssm.cancel(&command_id, &node.instance_id).await;
                return Err(Error::usage(
                    format!(
                        "SSM command {command_id} on instance {} did not finish within {} s",
                        node.instance_id,
                        (timeout + DELIVERY).as_secs()
                    ),
                    "it was cancelled; try again with a longer --timeout",
                ));
            }
            poller.sleep().await;
        }
    }
}
