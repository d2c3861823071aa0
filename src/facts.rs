//! What a blueprint declares about itself for `check` and `cost` (its
//! `src/blueprint/<name>/facts.json`): the instance families it recommends, the AWS managed
//! policies its roles may have, the remarks of its seed's Well-Architected checklist by rule,
//! and the programs on its instances that publish CloudWatch custom metrics.

use serde::Deserialize;
use serde_json::{Map, Value};

/// A blueprint's facts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Facts {
    /// What the file is (free text).
    #[serde(default)]
    pub about: String,
    /// The instance families the blueprint recommends, with the reason.
    pub recommended_instance_families: Families,
    /// The AWS managed policies the blueprint's roles may have, each with the reason.
    pub declared_managed_policies: Vec<Declared>,
    /// The remark of each rule's row in the seed's checklist, by rule name; absent where the
    /// seed has no such row.
    #[serde(default)]
    pub checklist: Map<String, Value>,
    /// The programs on the instances that publish CloudWatch custom metrics.
    #[serde(default)]
    pub metric_publishers: Vec<Publisher>,
    /// What a node's data volume (`/data`) holds, in words, for `destroy`'s warning, e.g.
    /// "the Edge Node's keystore and chain data".
    #[serde(default)]
    pub data_volume_holds: String,
}

impl Facts {
    /// Parses a `facts.json`. Panics on a malformed file: the files are built in, and a test
    /// parses each one.
    pub fn parse(json: &str) -> Facts {
        serde_json::from_str(json).expect("a valid facts.json (unit-tested)")
    }

    /// The seed checklist's remark on `rule`, or an empty string.
    pub fn remark(&self, rule: &str) -> &str {
        self.checklist
            .get(rule)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The publishers whose marker is in `user_data`.
    pub fn publishers(&self, user_data: &str) -> Vec<&Publisher> {
        self.metric_publishers
            .iter()
            .filter(|publisher| user_data.contains(&publisher.marker))
            .collect()
    }
}

/// Recommended instance families.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Families {
    /// Families such as `t3` (the part of an instance type before the dot).
    pub families: Vec<String>,
    /// Why (which seed rows).
    pub reason: String,
}

/// One declared AWS managed policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Declared {
    /// The policy name, e.g. `AmazonSSMManagedInstanceCore`.
    pub name: String,
    /// Why the blueprint needs it.
    pub reason: String,
}

/// A program on the instance that publishes CloudWatch custom metrics, which no template
/// resource declares: the instance's user data configures them. CloudWatch bills each metric
/// (one metric name with one set of dimension values) per month (Amazon CloudWatch pricing
/// page, "Metrics").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Publisher {
    /// What it is, as printed: `CloudWatch agent`.
    pub name: String,
    /// Text of the user data that shows the publisher is configured.
    pub marker: String,
    /// The metric names it publishes, each with how many dimension sets (one per disk path or
    /// device, for example).
    pub metrics: Map<String, Value>,
    /// Where in the user data the metrics are configured.
    pub configured_in: String,
    /// How the dimension counts come about (free text).
    #[serde(default)]
    pub about: String,
}

impl Publisher {
    /// The number of billed metrics (metric names × dimension sets).
    pub fn count(&self) -> i64 {
        self.metrics.values().filter_map(Value::as_i64).sum()
    }
}
