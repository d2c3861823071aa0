//! The plan of one `.env` file: the stacks a blueprint deploys, as a graph. Neutral ground:
//! blueprints build plans, and the operations, the stack engine, `check` and `cost` read them
//! without knowing which blueprint made them.
//!
//! A plan holds [`StackSpec`]s in an order where every stack comes after the stacks it depends
//! on (`common` before `single-node`). Commands select stacks by id ([`Plan::select`]); deploy
//! walks the selection in that order, destroy in reverse.

use crate::error::{ConfigIssue, Error, Result, Source};
use crate::facts::Facts;
use crate::secrets::NodeSecret;
use crate::template::Template;

/// The id that selects every stack of a plan.
pub const ALL: &str = "all";

/// The `AWS_ACCOUNT_ID` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSetting {
    /// Not set anywhere.
    Missing,
    /// Still the upstream sample's placeholder `xxxxxxxxxxx`.
    Placeholder(Source),
    /// Set, but not 12 digits (checked only by commands that talk to AWS).
    Invalid {
        /// Where it was set.
        source: Source,
        /// What is wrong with it.
        message: String,
        /// What to do.
        hint: String,
    },
    /// A 12-digit account id.
    Id(String, Source),
}

impl AccountSetting {
    /// The account id, when valid.
    pub fn id(&self) -> Option<&str> {
        match self {
            AccountSetting::Id(id, _) => Some(id),
            _ => None,
        }
    }
}

/// Template parameter values that a stack takes from the account at deploy time rather than
/// from the `.env` file; resolved by `ops::lookup` right before the stack is deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The region's default VPC: parameters `VpcId`, `VpcCidr` (its primary IPv4 block),
    /// `SubnetId` (a default subnet) and `AvailabilityZone` (that subnet's zone, the first by
    /// name that offers `instance_type`).
    DefaultVpc {
        /// The instance type the subnet's zone must offer.
        instance_type: String,
    },
    /// The AMI of the node's instance: parameter `ImageId`, resolved once from the public
    /// Parameter Store `parameter` (e.g. `/aws/service/ami-amazon-linux-latest/...`) when the
    /// stack is created, then kept, so that a redeploy never replaces the instance because
    /// Amazon published a newer image (a `AWS::SSM::Parameter::Value` parameter would be
    /// resolved again at every update).
    Ami {
        /// The Parameter Store name of the latest image.
        parameter: String,
    },
    /// An output of a stack this one depends on, read when this one is deployed (a bucket
    /// name CloudFormation chose, say).
    Output {
        /// The template parameter that takes it.
        parameter: String,
        /// The stack name whose output it is.
        stack: String,
        /// The output key.
        output: String,
    },
}

impl Lookup {
    /// The template parameters this lookup provides.
    pub fn parameters(&self) -> Vec<&str> {
        match self {
            Lookup::DefaultVpc { .. } => vec!["VpcId", "VpcCidr", "SubnetId", "AvailabilityZone"],
            Lookup::Ami { .. } => vec!["ImageId"],
            Lookup::Output { parameter, .. } => vec![parameter],
        }
    }
}

/// Work an operation does for a stack besides CloudFormation itself.
#[derive(Debug, Clone)]
pub enum Step {
    /// Before the stack is deployed: store the node's secret in Secrets Manager.
    WriteSecret(NodeSecret),
    /// Before the stack is deployed: put a file into an S3 bucket (Lambda code), unless an
    /// object with that key is there already (keys are content-addressed).
    Upload(Artifact),
    /// After the stack is deleted: schedule the deletion of a secret that outlives it.
    DeleteSecret {
        /// The secret's name.
        secret_id: String,
        /// What it holds, in words, e.g. "edge node passwords".
        contents: &'static str,
    },
}

/// What a stack is to a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackKind {
    /// Shared by the plan's nodes (`common`, a blueprint's `queues` or `api`): deployed first,
    /// one at a time; in a fleet, one per region.
    Shared,
    /// One node (`single-node`): in a fleet, one per member, deployed concurrently; what
    /// `upgrade` and the day-2 commands (`--node`) work on.
    Node,
}

/// A file a stack's resources read from S3, built offline by the blueprint: a Lambda
/// function's code, say.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The bucket: the output of a stack this one depends on (`(stack name, output key)`).
    pub bucket: (String, String),
    /// The object key, content-addressed: `lambda/<sha256 of the bytes>.zip`.
    pub key: String,
    /// The bytes.
    pub bytes: std::sync::Arc<Vec<u8>>,
    /// What it is, in words: "the Lambda functions' code".
    pub what: &'static str,
}

/// One stack of a plan.
#[derive(Debug, Clone)]
pub struct StackSpec {
    /// Its id in the plan and on the command line: `common`, `single-node`, ...
    pub id: String,
    /// Whether it is shared or a node.
    pub kind: StackKind,
    /// The CloudFormation stack name.
    pub name: String,
    /// The region it is deployed in: the plan's, or, in a fleet, a node's own
    /// ([`crate::fleet`]). Set by the blueprint; [`Plan::check_graph`] refuses an empty one.
    pub region: String,
    /// The rendered template.
    pub template: Template,
    /// Template parameters, in the order the blueprint gives them: the same values the
    /// template carries as defaults, sent explicitly so that change sets show their changes.
    pub parameters: Vec<(String, String)>,
    /// Stack tags (propagated by CloudFormation to the resources).
    pub tags: Vec<(String, String)>,
    /// The ids of the stacks this one needs deployed first (it imports their exports).
    pub depends_on: Vec<String>,
    /// Template parameters whose values come from the account at deploy time.
    pub lookups: Vec<Lookup>,
    /// What to do before the stack is deployed.
    pub before_deploy: Vec<Step>,
    /// What to do after the stack is deleted.
    pub after_destroy: Vec<Step>,
}

impl StackSpec {
    /// A shared stack in `region` with no parameters, tags, dependencies or steps.
    pub fn new(id: &str, name: &str, region: &str, template: Template) -> Self {
        StackSpec {
            id: id.to_string(),
            kind: StackKind::Shared,
            name: name.to_string(),
            region: region.to_string(),
            template,
            parameters: Vec::new(),
            tags: Vec::new(),
            depends_on: Vec::new(),
            lookups: Vec::new(),
            before_deploy: Vec::new(),
            after_destroy: Vec::new(),
        }
    }

    /// Whether it is a node stack (one per fleet member), not a shared one.
    pub fn is_node(&self) -> bool {
        self.kind == StackKind::Node
    }

    /// The secrets this stack writes before it is deployed (a node's own secret; a shared
    /// stack's, such as an API's key).
    pub fn secrets(&self) -> impl Iterator<Item = &NodeSecret> {
        self.before_deploy.iter().filter_map(|step| match step {
            Step::WriteSecret(secret) => Some(secret),
            _ => None,
        })
    }
}

/// Everything one `.env` file resolves to: the validated stacks and the account and region.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The blueprint's name (tags, messages).
    pub blueprint: &'static str,
    /// What the blueprint declares for `check` and `cost`.
    pub facts: &'static Facts,
    /// The region to deploy into: the `.env` file's. In a fleet whose node files name other
    /// regions, some stacks are elsewhere (each [`StackSpec::region`]); the commands that talk
    /// to AWS work on one region at a time ([`Plan::regions`], [`Plan::in_region`]).
    pub region: String,
    /// The configured account.
    pub account: AccountSetting,
    /// The stacks, every one after the stacks it depends on.
    pub stacks: Vec<StackSpec>,
    /// Non-fatal findings (unknown keys, ignored keys), to print as warnings.
    pub warnings: Vec<String>,
    /// What the plan's nodes will run, said by `deploy` before it changes anything: roles,
    /// network, topics, and the funds or stake they need (Allora's "no surprise roles").
    pub notes: Vec<String>,
    /// Secret values found in the configuration, to register with the printer's redactor.
    pub secrets: Vec<String>,
}

impl Plan {
    /// Adds the user's `tags` to every stack and to the secrets the stacks write (a key a
    /// stack has already takes the user's value). Errors: a stack would carry more than
    /// [`crate::blueprint::tags::MAX_TAGS`] tags.
    pub fn add_tags(&mut self, tags: &[(String, String)]) -> Result<()> {
        use crate::blueprint::tags::{merge, MAX_TAGS};
        for stack in &mut self.stacks {
            merge(&mut stack.tags, tags.iter().cloned());
            if stack.tags.len() > MAX_TAGS {
                return Err(Error::usage(
                    format!(
                        "stack `{}` would carry {} tags, more than the {MAX_TAGS} CloudFormation \
                         allows ({} of them nodectl's own)",
                        stack.name,
                        stack.tags.len(),
                        stack.tags.len() - tags.len()
                    ),
                    "drop some of NODECTL_TAGS and --tags",
                ));
            }
            for step in &mut stack.before_deploy {
                if let Step::WriteSecret(secret) = step {
                    merge(&mut secret.tags, tags.iter().cloned());
                }
            }
        }
        Ok(())
    }

    /// The stack with `id`.
    pub fn stack(&self, id: &str) -> Option<&StackSpec> {
        self.stacks.iter().find(|stack| stack.id == id)
    }

    /// The ids of the plan's stacks, in deploy order.
    pub fn ids(&self) -> Vec<&str> {
        self.stacks.iter().map(|stack| stack.id.as_str()).collect()
    }

    /// The stacks `requested` names (ids, or [`ALL`]), in deploy order (dependencies first),
    /// each once. Errors: an id the plan does not have, with the closest one.
    pub fn select(&self, requested: &[String]) -> Result<Vec<&StackSpec>> {
        if requested.is_empty() || requested.iter().any(|id| id == ALL) {
            return Ok(self.stacks.iter().collect());
        }
        // In a fleet, a node stack's id is `<id>-<node>`, and a shared stack's copy in another
        // region `<id>-<region>`: `<id>` selects every node, and every copy.
        let matches = |stack: &StackSpec, id: &str| {
            stack.id == id
                || (stack.is_node()
                    && stack
                        .id
                        .strip_prefix(id)
                        .is_some_and(|rest| rest.starts_with('-')))
                || stack.id == format!("{id}-{}", stack.region)
        };
        for id in requested {
            if !self.stacks.iter().any(|stack| matches(stack, id)) {
                let closest = self
                    .ids()
                    .into_iter()
                    .map(|known| (strsim::levenshtein(known, id), known))
                    .min()
                    .filter(|(distance, _)| *distance <= 3)
                    .map(|(_, known)| known);
                return Err(Error::UnknownStack {
                    id: id.clone(),
                    blueprint: self.blueprint,
                    known: self.ids().iter().map(|id| id.to_string()).collect(),
                    closest: closest.map(str::to_string),
                });
            }
        }
        Ok(self
            .stacks
            .iter()
            .filter(|stack| requested.iter().any(|id| matches(stack, id)))
            .collect())
    }

    /// The node stack `name`: by id (`single-node`), or, in a fleet, by node name (`beta` for
    /// `single-node-beta`).
    pub fn node(&self, name: &str) -> Option<&StackSpec> {
        self.stacks
            .iter()
            .filter(|stack| stack.is_node())
            .find(|stack| {
                stack.id == name
                    || stack
                        .id
                        .strip_suffix(name)
                        .is_some_and(|prefix| prefix.ends_with('-'))
            })
    }

    /// The stacks that `stack` depends on, in deploy order.
    pub fn dependencies(&self, stack: &StackSpec) -> Vec<&StackSpec> {
        self.stacks
            .iter()
            .filter(|candidate| stack.depends_on.contains(&candidate.id))
            .collect()
    }

    /// The stacks that depend on `stack`.
    pub fn dependents(&self, stack: &StackSpec) -> Vec<&StackSpec> {
        self.stacks
            .iter()
            .filter(|candidate| candidate.depends_on.contains(&stack.id))
            .collect()
    }

    /// The regions of the plan's stacks, each once: the plan's own first, then the others in
    /// the order their first stack comes.
    pub fn regions(&self) -> Vec<&str> {
        let mut regions = vec![self.region.as_str()];
        for stack in &self.stacks {
            if !regions.contains(&stack.region.as_str()) {
                regions.push(&stack.region);
            }
        }
        regions
    }

    /// The part of the plan in `region`: its stacks there, with `region` as the plan's region
    /// (a stack depends only on stacks of its own region, so the part is a whole graph).
    pub fn in_region(&self, region: &str) -> Plan {
        Plan {
            region: region.to_string(),
            stacks: self
                .stacks
                .iter()
                .filter(|stack| stack.region == region)
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// `selected` (stacks of this plan) split by region: each region's part of the plan
    /// ([`Plan::in_region`]) with the ids of its selected stacks, in [`Plan::regions`] order,
    /// regions with no selected stack left out.
    pub fn split_by_region(&self, selected: &[&StackSpec]) -> Vec<(Plan, Vec<String>)> {
        self.regions()
            .into_iter()
            .filter_map(|region| {
                let ids: Vec<String> = selected
                    .iter()
                    .filter(|stack| stack.region == region)
                    .map(|stack| stack.id.clone())
                    .collect();
                (!ids.is_empty()).then(|| (self.in_region(region), ids))
            })
            .collect()
    }

    /// The stacks of this plan with `ids`, in deploy order.
    pub fn with_ids(&self, ids: &[String]) -> Vec<&StackSpec> {
        self.stacks
            .iter()
            .filter(|stack| ids.contains(&stack.id))
            .collect()
    }

    /// Checks the graph: ids are unique, every stack has a region, every dependency is a stack
    /// of the plan, in the same region, that comes earlier. A failure is a defect of the
    /// blueprint, not of the user's configuration.
    pub fn check_graph(&self) -> std::result::Result<(), String> {
        for (index, stack) in self.stacks.iter().enumerate() {
            if stack.region.is_empty() {
                return Err(format!("stack `{}` has no region", stack.id));
            }
            if self.stacks[..index]
                .iter()
                .any(|other| other.id == stack.id)
            {
                return Err(format!("two stacks have the id `{}`", stack.id));
            }
            for dependency in &stack.depends_on {
                if !self.stacks[..index]
                    .iter()
                    .any(|other| &other.id == dependency && other.region == stack.region)
                {
                    return Err(format!(
                        "stack `{}` depends on `{dependency}`, which does not come before it in \
                         its region",
                        stack.id
                    ));
                }
            }
        }
        Ok(())
    }

    /// The account id for commands that talk to AWS: errors when `AWS_ACCOUNT_ID` is missing,
    /// still the placeholder or invalid (no AWS request is made before this check).
    pub fn require_account(&self) -> Result<(&str, &Source)> {
        const KEY: &str = "AWS_ACCOUNT_ID";
        match &self.account {
            AccountSetting::Id(id, source) => Ok((id, source)),
            AccountSetting::Placeholder(source) => Err(Error::Config(vec![ConfigIssue::key(
                KEY,
                source,
                "`xxxxxxxxxxx` is the upstream sample's placeholder, not an account id",
            )
            .hint(
                "set it to the 12-digit id of the account to deploy into: `aws sts \
                 get-caller-identity --query Account`",
            )])),
            AccountSetting::Invalid {
                source,
                message,
                hint,
            } => Err(Error::Config(vec![ConfigIssue::key(
                KEY,
                source,
                message.clone(),
            )
            .hint(hint.clone())])),
            AccountSetting::Missing => Err(Error::Config(vec![ConfigIssue::general(
                "AWS_ACCOUNT_ID is not set: nodectl checks it against the credentials' account \
                 before it changes anything",
            )
            .hint(
                "add AWS_ACCOUNT_ID=\"<12-digit id>\" to the .env file (`aws sts \
                 get-caller-identity --query Account` prints it)",
            )])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, depends_on: &[&str]) -> StackSpec {
        let template = Template::from_value(serde_json::json!({"Resources": {}}));
        let mut spec = StackSpec::new(id, &format!("stack-{id}"), "us-east-1", template);
        spec.depends_on = depends_on.iter().map(|d| d.to_string()).collect();
        spec
    }

    fn plan(stacks: Vec<StackSpec>) -> Plan {
        Plan {
            blueprint: "test",
            facts: Box::leak(Box::default()),
            region: "us-east-1".into(),
            account: AccountSetting::Missing,
            stacks,
            warnings: Vec::new(),
            notes: Vec::new(),
            secrets: Vec::new(),
        }
    }

    #[test]
    fn selection_follows_the_graph_and_names_the_closest_id() {
        let plan = plan(vec![
            spec("common", &[]),
            spec("queues", &["common"]),
            spec("single-node", &["common"]),
        ]);
        assert!(plan.check_graph().is_ok());
        let ids = |selected: Vec<&StackSpec>| -> Vec<String> {
            selected.iter().map(|s| s.id.clone()).collect()
        };
        assert_eq!(
            ids(plan
                .select(&["single-node".into(), "common".into()])
                .unwrap()),
            ["common", "single-node"]
        );
        assert_eq!(ids(plan.select(&["all".into()]).unwrap()).len(), 3);
        let err = plan.select(&["singel-node".into()]).unwrap_err();
        assert_eq!(
            err.reports()[0],
            (
                "the test blueprint has no stack `singel-node`".to_string(),
                Some(
                    "did you mean `single-node`? its stacks are common, queues, single-node, or all"
                        .to_string()
                )
            )
        );
        let common = plan.stack("common").unwrap();
        assert_eq!(plan.dependents(common).len(), 2);
        assert_eq!(
            ids(plan.dependencies(plan.stack("queues").unwrap())),
            ["common"]
        );
    }

    #[test]
    fn a_dependency_must_come_first() {
        let plan = plan(vec![spec("single-node", &["common"]), spec("common", &[])]);
        assert_eq!(
            plan.check_graph().unwrap_err(),
            "stack `single-node` depends on `common`, which does not come before it in its region"
        );
    }
}
