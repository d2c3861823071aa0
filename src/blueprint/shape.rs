//! The checks every `.env` value gets before its blueprint reads it, from its [`KeySpec`]:
//! its size (the limit of where it ends up), control characters, and for URL-valued keys that
//! each URL parses with an expected scheme. Messages never show a secret's value.

use super::keys::{KeySpec, Shape};
use super::validate::Problem;

/// Checks `value` of `spec`'s key.
///
/// Errors: longer than [`KeySpec::max_bytes`] (naming the limit and where the value ends
/// up), a control character (naming it and its position), a line break in a one-line value,
/// or a URL that does not parse or has another scheme.
pub fn check(spec: &KeySpec, value: &str) -> Result<(), Problem> {
    if value.len() > spec.max_bytes {
        return Err((
            format!(
                "the value is {} bytes long, over the limit of {} bytes ({})",
                value.len(),
                spec.max_bytes,
                spec.limit
            ),
            format!("shorten it to at most {} bytes", spec.max_bytes),
        ));
    }
    let multi_line = spec.shape == Shape::Lines;
    if let Some((position, c)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !(multi_line && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(control(c, position + 1));
    }
    match spec.shape {
        Shape::Line | Shape::Lines => Ok(()),
        Shape::Urls(schemes) => items(value)
            .try_for_each(|item| url(item, schemes).map(|_| ()))
            .map_err(|message| (message, hint(spec, schemes))),
        Shape::Endpoints(schemes) => items(value)
            .try_for_each(|item| endpoint(item, schemes))
            .map_err(|message| (message, hint(spec, schemes))),
    }
}

/// The items of a comma-separated list, trimmed, empty ones skipped.
fn items(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

fn control(c: char, position: usize) -> Problem {
    let name = match c {
        '\n' | '\r' => "a line break".to_string(),
        '\t' => "a tab".to_string(),
        '\0' => "a NUL character".to_string(),
        '\u{1b}' => "an escape character (ESC)".to_string(),
        other => format!("the control character U+{:04X}", other as u32),
    };
    (
        format!("the value contains {name} (character {position})"),
        if matches!(c, '\n' | '\r') {
            "put the value on one line".into()
        } else {
            "remove it: values are printable text".into()
        },
    )
}

/// `item` as a URL with one of `schemes` and a host.
fn url(item: &str, schemes: &[&str]) -> Result<url::Url, String> {
    let parsed = url::Url::parse(item).map_err(|err| format!("`{item}` is not a URL ({err})"))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(format!(
            "`{item}` has the scheme `{}`; expected {}",
            parsed.scheme(),
            list(schemes)
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{item}` has no host"));
    }
    Ok(parsed)
}

/// `item` as `host:port`, or as a URL with one of `schemes`.
fn endpoint(item: &str, schemes: &[&str]) -> Result<(), String> {
    if item.contains("://") {
        return url(item, schemes).map(|_| ());
    }
    let Some((host, port)) = item.rsplit_once(':') else {
        return Err(format!("`{item}` is not host:port"));
    };
    let host_ok = url::Host::parse(host).is_ok() && !host.is_empty();
    let port_ok = port.parse::<u16>().is_ok_and(|port| port > 0);
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!("`{item}` is not host:port"))
    }
}

fn list(schemes: &[&str]) -> String {
    schemes
        .iter()
        .map(|scheme| format!("{scheme}://"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn hint(spec: &KeySpec, schemes: &[&str]) -> String {
    match (spec.shape, spec.default) {
        (Shape::Endpoints(_), Some(example)) => {
            format!(
                "write host:port (or {} URLs), e.g. {example}",
                list(schemes)
            )
        }
        (_, Some(example)) => format!("write a {} URL, e.g. {example}", list(schemes)),
        _ => format!("write a {} URL", list(schemes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::keys::{key, secret};

    const HTTP: &[&str] = &["http", "https"];

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        let spec = key("RPC", Some("https://rpc.example"), "url").shape(Shape::Urls(HTTP));
        assert!(check(&spec, "https://a.example, http://b.example:26657").is_ok());
        assert!(check(&spec, "http://source:8000/inference/{Token}").is_ok());
        let (message, hint) = check(&spec, "ftp://a.example").unwrap_err();
        assert_eq!(
            message,
            "`ftp://a.example` has the scheme `ftp`; expected http:// or https://"
        );
        assert_eq!(
            hint,
            "write a http:// or https:// URL, e.g. https://rpc.example"
        );
        assert_eq!(
            check(&spec, "rpc.example").unwrap_err().0,
            "`rpc.example` is not a URL (relative URL without a base)"
        );
    }

    #[test]
    fn endpoints_are_host_port_or_urls() {
        let spec =
            key("GRPC", Some("grpc.example:443"), "endpoint").shape(Shape::Endpoints(&["grpcs"]));
        assert!(check(&spec, "grpc.example:443").is_ok());
        assert!(check(&spec, "10.0.0.1:9090, grpcs://g.example").is_ok());
        assert_eq!(
            check(&spec, "grpc.example").unwrap_err().0,
            "`grpc.example` is not host:port"
        );
        assert_eq!(
            check(&spec, "grpc.example:http").unwrap_err().0,
            "`grpc.example:http` is not host:port"
        );
    }

    #[test]
    fn control_characters_are_named_and_secrets_are_not_shown() {
        let spec = secret("MNEMONIC", "words");
        let (message, _) = check(&spec, "abandon\u{1b}[31m ability").unwrap_err();
        assert_eq!(
            message,
            "the value contains an escape character (ESC) (character 8)"
        );
        assert_eq!(
            check(&spec, "a\nb").unwrap_err().0,
            "the value contains a line break (character 2)"
        );
        assert_eq!(
            check(&spec, "a\0").unwrap_err().0,
            "the value contains a NUL character (character 2)"
        );
        let lines = secret("VARS", "lines").shape(Shape::Lines);
        assert!(check(&lines, "A=\"1\"\n\tB=\"2\"\r\n").is_ok());
        assert!(check(&lines, "A=\"\u{7}\"").is_err());
    }

    #[test]
    fn sizes_name_the_limit() {
        let spec = key("TAG", None, "tag").max(256, "a tag value");
        assert!(check(&spec, &"x".repeat(256)).is_ok());
        assert_eq!(
            check(&spec, &"é".repeat(129)).unwrap_err().0,
            "the value is 258 bytes long, over the limit of 256 bytes (a tag value)"
        );
    }
}
