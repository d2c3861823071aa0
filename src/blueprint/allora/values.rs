//! Checks of single Allora values: plain strings bound for the setup script, variable
//! names, git refs, the model repository URL, port and topic lists, and the inference
//! endpoint's health URL.

use crate::blueprint::validate;

/// A value that reaches the user data script in single quotes and the compose override in
/// double quotes: no quotes, backslashes, dollar signs or whitespace.
pub(super) fn plain(key: &str, value: &str) -> std::result::Result<(), validate::Problem> {
    if value
        .chars()
        .any(|c| c.is_whitespace() || "'\"\\`$".contains(c))
    {
        Err((
            format!("`{value}` contains a quote, backslash, dollar sign or whitespace"),
            format!("{key} reaches the instance's setup script: use a plain value"),
        ))
    } else {
        Ok(())
    }
}

/// Whether `name` is a shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(super) fn is_env_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `value` is a git branch, tag or commit nodectl passes on: 1 to 128 of
/// `A-Za-z0-9._/-`, not starting with `.`, `/` or `-` (the template's `ModelRepoRef` pattern).
pub(super) fn git_ref(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && !value.starts_with(['.', '/', '-'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
}

/// `MODEL_REPO`: an `https://` git URL (TLS: the repository's code runs on the node) without
/// user information (credentials in the URL would reach the template, the user data, the
/// cloud-init log and `.git/config`), at most 512 characters of `A-Za-z0-9._~%+/-` after the
/// host (the template's `ModelRepo` pattern).
pub(super) fn model_repo(value: &str) -> std::result::Result<(), validate::Problem> {
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err((
            format!("`{value}` is not a URL"),
            "use the repository's https:// URL, e.g. \
             https://github.com/allora-network/basic-coin-prediction-node"
                .into(),
        ));
    };
    if scheme != "https" {
        return Err((
            format!("`{scheme}://` is not allowed: nodectl clones over TLS only (https://)"),
            "use the repository's https:// URL; the code it holds runs on the node".into(),
        ));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err((
            "the URL holds credentials (user information before `@`), which would be copied \
             into the template, the user data, the boot log and .git/config (value hidden)"
                .into(),
            "use a public repository URL; for a private one, give the node read access another \
             way (a deploy key, or a token kept in the node's secret), never in MODEL_REPO"
                .into(),
        ));
    }
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, ""));
    let path = &rest[authority.len()..];
    let ok = value.len() <= 512
        && host.starts_with(|c: char| c.is_ascii_alphanumeric())
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        && (port.is_empty() || (port.len() <= 5 && port.chars().all(|c| c.is_ascii_digit())))
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~%+/-".contains(c));
    if ok {
        Ok(())
    } else {
        Err((
            format!("`{value}` is not an https:// git URL nodectl can pass on"),
            "use https://HOST/PATH with letters, digits and `._~%+/-` only (at most 512 \
             characters)"
                .into(),
        ))
    }
}

pub(super) fn parse_ports(value: &str) -> std::result::Result<Vec<u16>, validate::Problem> {
    let mut ports = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<u16>() {
            Ok(port) if port > 0 && !ports.contains(&port) => ports.push(port),
            _ => {
                return Err((
                    format!("`{part}` is not a TCP port (1 to 65535, each once)"),
                    "list ports separated by commas, e.g. NODECTL_INGRESS_PORTS=\"9010\", or \
                     leave it empty to open none"
                        .into(),
                ))
            }
        }
    }
    Ok(ports)
}

pub(super) fn parse_topics(value: &str) -> std::result::Result<Vec<u64>, validate::Problem> {
    let mut topics = Vec::new();
    for part in value.split(',').map(str::trim) {
        match part.parse::<u64>() {
            Ok(topic) if topic > 0 && !topics.contains(&topic) => topics.push(topic),
            _ => {
                return Err((
                    format!("`{part}` is not a topic id (a whole number from 1, each once)"),
                    "list topic ids separated by commas, e.g. \"1\" or \"1,7\"".into(),
                ))
            }
        }
    }
    Ok(topics)
}

/// `http://HOST[:PORT]/PATH` → (HOST, the URL with 127.0.0.1 for HOST and `{Token}` filled).
pub(super) fn health_url(endpoint: &str, token: &str, topic: u64) -> Option<(String, String)> {
    let rest = endpoint.strip_prefix("http://")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().ok()?),
        None => (authority, 80),
    };
    if host.is_empty() || host.contains(['{', '}', '@']) {
        return None;
    }
    let path = path
        .replace("{Token}", token)
        .replace("{TopicId}", &topic.to_string())
        .replace("{BlockHeight}", "0");
    Some((host.to_string(), format!("http://127.0.0.1:{port}/{path}")))
}
