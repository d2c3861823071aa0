//! `NODECTL_ALERT_EMAIL`: where a node's CloudWatch alarms go. The node stack always has an
//! SNS topic for its alarms (output `AlertTopicArn`, to subscribe anything to); with an
//! address, the stack subscribes it by e-mail (AWS then sends a confirmation mail, and nothing
//! is delivered until it is confirmed: Amazon SNS Developer Guide, "Email notifications").

use super::Reader;

/// The key.
pub const KEY: &str = "NODECTL_ALERT_EMAIL";

/// The address, or empty when unset. An address must look like one (`local@domain.tld`, no
/// spaces or quotes, at most 254 bytes): the same rule as the node template's `AlertEmail`
/// parameter pattern.
pub fn read(r: &mut Reader) -> String {
    r.checked(KEY, |value| {
        let value = value.trim();
        if value.is_empty() || is_email(value) {
            Ok(value.to_string())
        } else {
            Err((
                format!("`{value}` is not an e-mail address"),
                "give one address such as ops@example.com, or remove the line".to_string(),
            ))
        }
    })
    .unwrap_or_default()
}

/// `local@domain.tld` with no spaces, quotes, commas or angle brackets; the domain has a dot.
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let plain = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_graphic() && !"\"'<>,;:@()[]\\`".contains(c))
    };
    value.len() <= 254
        && plain(local)
        && plain(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

#[cfg(test)]
mod tests {
    use super::is_email;

    #[test]
    fn addresses() {
        assert!(is_email("ops@example.com"));
        assert!(is_email("first.last+nodes@mail.example.co.uk"));
        for bad in [
            "ops",
            "ops@localhost",
            "a b@example.com",
            "<ops@example.com>",
            "ops@@x.io",
            "ops@x.io,b@y.io",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
