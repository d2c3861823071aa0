//! The key reference, `docs/keys.md`: for every blueprint, every key with its default, whether
//! it is secret, its shape and its maximum size with where the value ends up. Built from the
//! [`KeySpec`]s; a test keeps the committed file equal to it (`NODECTL_BLESS=1 cargo test
//! key_reference` rewrites it).

use super::keys::{KeySpec, Shape};
use super::BLUEPRINTS;

/// The Markdown text of `docs/keys.md`.
pub fn markdown() -> String {
    let mut text = String::from(
        "# .env keys\n\n\
         Generated from the key specifications in `src/blueprint/` (a test keeps this file up to \
         date). Every value is checked before any AWS request: its size (the limit of where it \
         ends up), control characters (none; line breaks only where several lines are allowed) \
         and, for URLs, the scheme and host. Precedence: a flag (`--region`), the process \
         environment, the `.env` file, then `AWS_REGION`'s fallbacks (`AWS_DEFAULT_REGION`, the \
         AWS profile's region), then the default.\n",
    );
    for blueprint in BLUEPRINTS {
        text.push_str(&format!(
            "\n## {}\n\n| key | default | value | max bytes | limit | meaning |\n|---|---|---|---|---|---|\n",
            blueprint.name()
        ));
        for spec in blueprint.keys() {
            text.push_str(&row(spec));
        }
    }
    text
}

fn row(spec: &KeySpec) -> String {
    let default = match spec.default {
        _ if spec.secret => "(secret)".to_string(),
        Some("") => "(empty)".to_string(),
        Some(value) => format!("`{value}`"),
        None => "(none)".to_string(),
    };
    let shape = match spec.shape {
        Shape::Line => "one line".to_string(),
        Shape::Lines => "several lines".to_string(),
        Shape::Urls(schemes) => format!("URLs ({})", schemes.join(", ")),
        Shape::Endpoints(_) => "host:port list".to_string(),
    };
    format!(
        "| `{}` | {} | {} | {} | {} | {} |\n",
        spec.name,
        default.replace('|', "\\|"),
        shape,
        spec.max_bytes,
        spec.limit,
        spec.help.replace('|', "\\|")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_key_reference_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/keys.md");
        let expected = super::markdown();
        if std::env::var_os("NODECTL_BLESS").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == expected,
            "docs/keys.md is out of date: run `NODECTL_BLESS=1 cargo test key_reference`"
        );
    }
}
