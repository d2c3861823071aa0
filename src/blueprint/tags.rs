//! Stack tags the user adds: `NODECTL_TAGS` in the `.env` file (`KEY=VALUE,KEY=VALUE`) and
//! `deploy --tags KEY=VALUE`, propagated to every stack (and by CloudFormation to the stacks'
//! resources) and to the node's secret. Checked against CloudFormation's rules for stack tags
//! (AWS CloudFormation API Reference, `Tag`: a key of 1 to 128 characters, a value of 1 to
//! 256, no `aws:` prefix; at most 50 tags per stack) before any AWS request.

use crate::error::{ConfigIssue, Source};
use crate::settings::Settings;

/// The most tags a stack can carry (CloudFormation API Reference, CreateStack `Tags`).
pub const MAX_TAGS: usize = 50;

/// The key prefix of nodectl's own tags, which users cannot set.
pub const RESERVED_PREFIX: &str = "nodectl:";

/// One `KEY=VALUE`, checked. Errors: `(message, hint)`.
pub fn parse_one(item: &str) -> Result<(String, String), (String, String)> {
    let hint = "write KEY=VALUE: a key of 1 to 128 characters (letters, digits, spaces and \
                _ . : / = + - @), a value of 1 to 256"
        .to_string();
    let Some((key, value)) = item.split_once('=') else {
        return Err((format!("`{item}` is not KEY=VALUE"), hint));
    };
    let (key, value) = (key.trim(), value.trim());
    let allowed = |text: &str| {
        text.chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c))
    };
    if key.is_empty() || key.chars().count() > 128 || !allowed(key) {
        return Err((format!("`{key}` is not a valid tag key"), hint));
    }
    if value.is_empty() || value.chars().count() > 256 || !allowed(value) {
        return Err((
            format!("the value of tag `{key}` is not a valid tag value"),
            hint,
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err((
            format!("tag key `{key}` starts with `aws:`, which AWS reserves"),
            "choose another key".into(),
        ));
    }
    if key.starts_with(RESERVED_PREFIX) {
        return Err((
            format!("tag key `{key}` starts with `{RESERVED_PREFIX}`, which nodectl reserves for its own tags"),
            "choose another key".into(),
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// The tags of `NODECTL_TAGS`, each checked; every problem as a [`ConfigIssue`].
pub fn from_settings(settings: &Settings) -> Result<Vec<(String, String)>, Vec<ConfigIssue>> {
    let Some(setting) = settings.get("NODECTL_TAGS") else {
        return Ok(Vec::new());
    };
    let mut tags = Vec::new();
    let mut issues = Vec::new();
    for item in setting
        .value
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        match parse_one(item) {
            Ok(tag) => merge(&mut tags, [tag]),
            Err((message, hint)) => issues.push(issue(&setting.source, message, hint)),
        }
    }
    if issues.is_empty() {
        Ok(tags)
    } else {
        Err(issues)
    }
}

fn issue(source: &Source, message: String, hint: String) -> ConfigIssue {
    ConfigIssue::key("NODECTL_TAGS", source, message).hint(hint)
}

/// Adds `more` to `tags`; a key already there takes the new value.
pub fn merge(tags: &mut Vec<(String, String)>, more: impl IntoIterator<Item = (String, String)>) {
    for (key, value) in more {
        match tags.iter_mut().find(|(k, _)| *k == key) {
            Some(existing) => existing.1 = value,
            None => tags.push((key, value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_cloudformation_rules() {
        assert_eq!(
            parse_one("team = node ops").unwrap(),
            ("team".to_string(), "node ops".to_string())
        );
        assert!(parse_one("cost-center=a/b:c@d+e").is_ok());
        assert_eq!(parse_one("team").unwrap_err().0, "`team` is not KEY=VALUE");
        assert_eq!(
            parse_one("aws:owner=me").unwrap_err().0,
            "tag key `aws:owner` starts with `aws:`, which AWS reserves"
        );
        assert!(parse_one("nodectl:stack=x").is_err());
        assert!(parse_one(&format!("k={}", "v".repeat(257))).is_err());
        assert!(parse_one("k=$(reboot)").is_err());
        let mut tags = vec![("a".to_string(), "1".to_string())];
        merge(
            &mut tags,
            [("a".into(), "2".into()), ("b".into(), "3".into())],
        );
        assert_eq!(tags, [("a".into(), "2".into()), ("b".into(), "3".into())]);
    }
}
