//! The EC2 instance types nodectl knows: the `InstanceType` enum of the EC2 API model that
//! botocore 1.42.72 ships (`botocore/data/ec2/2016-11-15/service-2.json`), kept in
//! `instance_types.txt`. A type missing from it is refused with the closest known one, before
//! any AWS request; at deploy time the region's offerings are checked too
//! (DescribeInstanceTypeOfferings), which also covers a type newer than the table.
//!
//! Regenerate the table from a newer botocore with:
//! `python3 -c 'import botocore.session as s; print("\n".join(sorted(s.get_session().get_service_model("ec2").shape_for("InstanceType").enum)))'`
//! (and update the header lines).

/// The table: one type per line, `#` comment lines first.
const TABLE: &str = include_str!("instance_types.txt");

/// Every known instance type, sorted.
pub fn all() -> impl Iterator<Item = &'static str> {
    TABLE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Whether `name` (e.g. `t3.medium`) is a known instance type.
pub fn is_known(name: &str) -> bool {
    all().any(|known| known == name)
}

/// The known type closest to `name` (Levenshtein distance at most 2), if any.
pub fn closest(name: &str) -> Option<&'static str> {
    all()
        .map(|known| (strsim::levenshtein(known, name), known))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, known)| known)
}

/// The sizes of `family` (e.g. `nano, micro, small, ...` for `t3`), in table order.
pub fn sizes(family: &str) -> Vec<&'static str> {
    all()
        .filter_map(|known| known.split_once('.'))
        .filter(|(f, _)| *f == family)
        .map(|(_, size)| size)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_the_types_the_blueprints_use() {
        for name in [
            "t3.medium",
            "m6i.xlarge",
            "g4dn.xlarge",
            "c7g.large",
            "m7i-flex.large",
        ] {
            assert!(is_known(name), "{name}");
        }
        assert!(all().count() > 1000);
        assert!(!is_known("t3.mediun"));
        assert_eq!(closest("t3.mediun"), Some("t3.medium"));
        assert_eq!(closest("zz9.huge"), None);
        assert!(sizes("t3").contains(&"2xlarge"));
    }
}
