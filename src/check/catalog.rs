//! The rule catalog (`rules/catalog.json`, embedded in the binary): for each rule, the
//! Well-Architected control and check it implements and the remark of that row in each
//! blueprint's seed checklist; and for each blueprint, what it declares for the rules (its
//! recommended instance families and the AWS managed policies its roles may have).
//!
//! A `--rules DIR` may hold a `catalog.json` of the same shape with `rules` only, describing
//! the user's rules.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The repository path of the built-in catalog, for messages.
pub const CATALOG_PATH: &str = "rules/catalog.json";

/// The built-in catalog's text.
pub const CATALOG_JSON: &str = include_str!("../../rules/catalog.json");

/// The name nodectl gives the rule it checks itself: every suppression has a reason.
pub const SUPPRESSION_RULE: &str = "suppression_reason";

/// A catalog: rule descriptions in the order they are reported, and blueprint declarations.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    /// What the catalog is (free text).
    #[serde(default)]
    pub about: Option<String>,
    /// The rules by name, in report order.
    #[serde(default, deserialize_with = "ordered_rules")]
    pub rules: Vec<(String, RuleInfo)>,
    /// What each blueprint declares, by blueprint name (`allora`, `theta`).
    #[serde(default)]
    pub blueprints: Map<String, Value>,
}

/// What one rule implements.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleInfo {
    /// The `.guard` file that holds the rule, or `(nodectl)`.
    #[serde(default)]
    pub file: Option<String>,
    /// Well-Architected pillar, e.g. `Security`.
    #[serde(default)]
    pub pillar: String,
    /// The seed checklist's control, e.g. `Compute protection`.
    pub control: String,
    /// The seed checklist's question or check, e.g. `Reduce attack surface`.
    pub check: String,
    /// What the rule verifies, in one sentence.
    #[serde(default)]
    pub summary: String,
    /// The seed checklist row's remark, by blueprint name; absent where the seed has no row.
    #[serde(default)]
    pub remarks: Map<String, Value>,
}

impl RuleInfo {
    /// The remark of the seed of `blueprint`, or an empty string.
    pub fn remark(&self, blueprint: &str) -> &str {
        self.remarks
            .get(blueprint)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// What a blueprint declares for the rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlueprintFacts {
    /// The instance families the blueprint recommends, with the reason.
    pub recommended_instance_families: Families,
    /// The AWS managed policies the blueprint's roles may have, each with the reason.
    pub declared_managed_policies: Vec<Declared>,
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

fn ordered_rules<'de, D>(deserializer: D) -> Result<Vec<(String, RuleInfo)>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    // serde_json's `preserve_order` keeps the file's order in a Map.
    let map = Map::<String, Value>::deserialize(deserializer)?;
    map.into_iter()
        .map(|(name, value)| {
            RuleInfo::deserialize(value)
                .map(|info| (name.clone(), info))
                .map_err(|err| serde::de::Error::custom(format!("rule `{name}`: {err}")))
        })
        .collect()
}

impl Catalog {
    /// The built-in catalog.
    pub fn built_in() -> Catalog {
        serde_json::from_str(CATALOG_JSON).expect("rules/catalog.json is valid (unit-tested)")
    }

    /// Parses a catalog; `Err` carries serde's message.
    pub fn parse(text: &str) -> Result<Catalog, String> {
        serde_json::from_str(text).map_err(|err| err.to_string())
    }

    /// The description of `rule`, if the catalog has one.
    pub fn rule(&self, rule: &str) -> Option<&RuleInfo> {
        self.rules
            .iter()
            .find(|(name, _)| name == rule)
            .map(|(_, info)| info)
    }

    /// What `blueprint` declares, if the catalog says.
    pub fn blueprint(&self, blueprint: &str) -> Option<BlueprintFacts> {
        self.blueprints
            .get(blueprint)
            .map(|value| BlueprintFacts::deserialize(value).expect("valid blueprint facts"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalog_describes_every_rule_and_blueprint() {
        let catalog = Catalog::built_in();
        assert!(catalog.rules.len() >= 17);
        for (name, info) in &catalog.rules {
            assert!(!info.control.is_empty() && !info.check.is_empty(), "{name}");
            assert!(!info.summary.is_empty(), "{name}");
            for blueprint in info.remarks.keys() {
                assert!(["allora", "theta"].contains(&blueprint.as_str()), "{name}");
            }
        }
        for blueprint in crate::blueprint::BLUEPRINTS {
            let facts = catalog.blueprint(blueprint.name()).expect("facts");
            assert!(!facts.recommended_instance_families.families.is_empty());
            assert_eq!(facts.declared_managed_policies.len(), 2);
        }
    }
}
