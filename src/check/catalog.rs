//! The rule catalog (`rules/catalog.json`, embedded in the binary): for each rule, the
//! Well-Architected pillar, control and check it implements and what it verifies. What a
//! blueprint declares for the rules, and the remarks of its seed checklist, are its facts
//! (`crate::facts`).
//!
//! A `--rules DIR` may hold a `catalog.json` of the same shape describing the user's rules, with
//! a remark per blueprint name where the user wants one.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The built-in catalog's text.
pub(crate) const CATALOG_JSON: &str = include_str!("../../rules/catalog.json");

/// The name nodectl gives the rule it checks itself: every suppression has a reason.
pub(crate) const SUPPRESSION_RULE: &str = "suppression_reason";

/// A catalog: rule descriptions in the order they are reported, and blueprint declarations.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Catalog {
    /// What the catalog is (free text, for its readers).
    #[serde(default)]
    #[allow(dead_code)]
    pub about: Option<String>,
    /// The rules by name, in report order.
    #[serde(default, deserialize_with = "ordered_rules")]
    pub rules: Vec<(String, RuleInfo)>,
    /// Only there to be refused with a clear message: blueprints declare their facts
    /// themselves.
    #[serde(default)]
    pub blueprints: Option<Value>,
}

/// What one rule implements.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RuleInfo {
    /// The `.guard` file that holds the rule, or `(nodectl)` (for the catalog's readers).
    #[serde(default)]
    #[allow(dead_code)]
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
    /// The user catalog's remark, by blueprint name (built-in rules take theirs from the
    /// blueprint's facts).
    #[serde(default)]
    pub remarks: Map<String, Value>,
}

impl RuleInfo {
    /// The remark of the seed of `blueprint`, or an empty string.
    pub(crate) fn remark(&self, blueprint: &str) -> &str {
        self.remarks
            .get(blueprint)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
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
    pub(crate) fn built_in() -> Catalog {
        serde_json::from_str(CATALOG_JSON).expect("rules/catalog.json is valid (unit-tested)")
    }

    /// Parses a catalog; `Err` carries serde's message.
    pub(crate) fn parse(text: &str) -> Result<Catalog, String> {
        serde_json::from_str(text).map_err(|err| err.to_string())
    }

    /// The description of `rule`, if the catalog has one.
    pub(crate) fn rule(&self, rule: &str) -> Option<&RuleInfo> {
        self.rules
            .iter()
            .find(|(name, _)| name == rule)
            .map(|(_, info)| info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalog_describes_every_rule() {
        let catalog = Catalog::built_in();
        assert!(catalog.rules.len() >= 17);
        assert!(catalog.blueprints.is_none());
        for (name, info) in &catalog.rules {
            assert!(!info.control.is_empty() && !info.check.is_empty(), "{name}");
            assert!(!info.summary.is_empty(), "{name}");
            assert!(
                info.remarks.is_empty(),
                "{name}: remarks are the blueprints' facts"
            );
        }
    }
}
