//! Syntax checks for configuration values. Each returns the parsed value, or a
//! `(message, hint)` pair for a [`crate::error::ConfigIssue`].

use std::net::Ipv4Addr;

/// A failed check: what is wrong, and what to do.
pub type Problem = (String, String);

/// An AWS region code such as `us-east-1`, `us-gov-west-1` or `ap-southeast-3`: two lowercase
/// letters, one or more lowercase words, a number (the pattern of the region codes listed in
/// the AWS General Reference, "AWS service endpoints").
pub fn region(value: &str) -> Result<String, Problem> {
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && {
            let last = parts[parts.len() - 1];
            (1..=2).contains(&last.len()) && last.chars().all(|c| c.is_ascii_digit())
        };
    if ok {
        Ok(value.to_string())
    } else {
        Err((
            format!("`{value}` is not an AWS region code"),
            "use a region code such as us-east-1, eu-west-2 or ap-southeast-1".into(),
        ))
    }
}

/// An EC2 instance type `family.size`, e.g. `t3.medium`, `g4dn.xlarge`, `m7i-flex.large`,
/// `u-6tb1.metal` (the naming of the Amazon EC2 Instance Types guide, "Instance type naming
/// conventions"): lowercase letters, digits and hyphens, one dot.
pub fn instance_type(value: &str) -> Result<InstanceType, Problem> {
    let hint = "use an EC2 instance type such as t3.medium, t3.large or m6i.large";
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        return Err((
            format!("`{value}` is not an EC2 instance type: instance types are lowercase"),
            format!("write it as `{}`", value.to_ascii_lowercase()),
        ));
    }
    let Some((family, size)) = value.split_once('.') else {
        return Err((
            format!("`{value}` is not an EC2 instance type: expected FAMILY.SIZE"),
            hint.into(),
        ));
    };
    let valid_part = |part: &str| {
        !part.is_empty()
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !valid_part(family)
        || !valid_part(size)
        || !family.starts_with(|c: char| c.is_ascii_lowercase())
        || !family.chars().any(|c| c.is_ascii_digit())
    {
        return Err((
            format!("`{value}` is not an EC2 instance type: expected FAMILY.SIZE"),
            hint.into(),
        ));
    }
    if !super::instance_types::is_known(value) {
        let suggestion = match super::instance_types::closest(value) {
            Some(known) => format!(" (did you mean {known}?)"),
            None => String::new(),
        };
        let sizes = super::instance_types::sizes(family);
        let hint = if sizes.is_empty() {
            format!(
                "{hint}; nodectl knows the types of the EC2 API model of botocore 1.42.72, so a \
                 newer type needs a newer nodectl"
            )
        } else {
            format!("the sizes of {family} are {}", sizes.join(", "))
        };
        return Err((
            format!("`{value}` is not an EC2 instance type{suggestion}"),
            hint,
        ));
    }
    Ok(InstanceType {
        family: family.to_string(),
        size: size.to_string(),
    })
}

/// A syntactically valid EC2 instance type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceType {
    /// The family, e.g. `t3`, `g4dn`, `m7i-flex`.
    pub family: String,
    /// The size, e.g. `medium`, `2xlarge`, `metal`.
    pub size: String,
}

impl std::fmt::Display for InstanceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.family, self.size)
    }
}

impl InstanceType {
    /// Whether the family is an AWS Graviton (arm64) one: a `g` right after the generation
    /// number (`t4g`, `m7g`, `c7gn`, `r8gd`, `im4gn`, `g5g`), per the EC2 naming conventions
    /// where `g` as an attribute means "AWS Graviton processors".
    pub fn is_graviton(&self) -> bool {
        let rest = self
            .family
            .trim_start_matches(|c: char| c.is_ascii_lowercase());
        let attributes = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        rest.len() != attributes.len() && attributes.starts_with('g')
    }

    /// The family's parts: class letters (`g`, `inf`, `im`), generation number and attribute
    /// letters (`dn`, `gd`, `i-flex`), per the EC2 instance type naming conventions.
    fn parts(&self) -> (&str, &str, &str) {
        let family = self.family.as_str();
        let class_end = family
            .find(|c: char| !c.is_ascii_lowercase())
            .unwrap_or(family.len());
        let rest = &family[class_end..];
        let generation_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        (
            &family[..class_end],
            &rest[..generation_end],
            &rest[generation_end..],
        )
    }

    /// Whether the type has NVIDIA GPUs: the accelerated computing families G and P (and
    /// Gr6), except `g4ad`, whose GPUs are AMD Radeon Pro V520 (Amazon EC2 Instance Types
    /// guide, "Accelerated computing instances": GPU manufacturer per family).
    pub fn has_nvidia_gpu(&self) -> bool {
        let (class, _, _) = self.parts();
        matches!(class, "g" | "p" | "gr") && self.family != "g4ad"
    }

    /// Whether the type has instance store volumes (Amazon EC2 Instance Types guide,
    /// "Instance store specifications"): a `d` attribute (`m5d`, `g4dn`, `c7gd`, `p4d`), the
    /// storage optimized classes (`i`, `im`, `is`, `d`, `h`), and the families that have NVMe
    /// instance storage without the letter (`g5`, `g6`, `g6e`, `gr6`, `p5*`, `p6*`, `x1*`,
    /// `trn*`, `dl1`, `f1`, `f2`, and the previous-generation `c3`, `m3`, `r3`, `g2`).
    pub fn has_instance_store(&self) -> bool {
        let (class, generation, attributes) = self.parts();
        let attributes = attributes.split('-').next().unwrap_or_default();
        attributes.contains('d')
            || matches!(class, "i" | "im" | "is" | "d" | "h" | "trn")
            || matches!(
                self.family.split('-').next().unwrap_or_default(),
                "g5" | "g6"
                    | "g6e"
                    | "gr6"
                    | "p5"
                    | "p5e"
                    | "p5en"
                    | "p6"
                    | "p6e"
                    | "x1"
                    | "x1e"
                    | "dl1"
                    | "f1"
                    | "f2"
                    | "c3"
                    | "m3"
                    | "r3"
                    | "g2"
            )
            || (class == "x" && generation == "1")
    }

    /// Whether the type runs on the Xen hypervisor rather than the Nitro System (Amazon EC2
    /// User Guide, "Instances built on the AWS Nitro System": the previous-generation families
    /// listed here are not). On Xen an EBS volume attached at `/dev/sdf` is the kernel device
    /// `xvdf`; on Nitro every EBS volume is an NVMe device.
    pub fn is_xen(&self) -> bool {
        matches!(
            self.family.as_str(),
            "c1" | "c3"
                | "c4"
                | "d2"
                | "g2"
                | "g3"
                | "g3s"
                | "h1"
                | "i2"
                | "i3"
                | "m1"
                | "m2"
                | "m3"
                | "m4"
                | "p2"
                | "p3"
                | "r3"
                | "r4"
                | "t1"
                | "t2"
                | "x1"
                | "x1e"
        )
    }
}

/// An IPv4 CIDR block such as `10.0.0.0/16`, with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// The network address.
    pub address: Ipv4Addr,
    /// The prefix length, 0 to 32.
    pub prefix: u8,
}

impl std::fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

impl Ipv4Cidr {
    /// The first block of `prefix` inside this one (e.g. `10.0.0.0/16` → `10.0.0.0/24`).
    pub fn first_subnet(&self, prefix: u8) -> Ipv4Cidr {
        Ipv4Cidr {
            address: self.address,
            prefix,
        }
    }
}

/// Parses an IPv4 CIDR block. A block with host bits set is rejected with the corrected
/// block in the hint.
pub fn ipv4_cidr(value: &str) -> Result<Ipv4Cidr, Problem> {
    let bad = || {
        (
            format!("`{value}` is not an IPv4 CIDR block"),
            "write ADDRESS/PREFIX, e.g. 10.0.0.0/16 or 203.0.113.7/32".to_string(),
        )
    };
    let (address, prefix) = value.split_once('/').ok_or_else(bad)?;
    let address: Ipv4Addr = address.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if prefix > 32 {
        return Err(bad());
    }
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    let network = Ipv4Addr::from(u32::from(address) & mask);
    if network != address {
        return Err((
            format!("`{value}` has host bits set"),
            format!("use the network address: {network}/{prefix}"),
        ));
    }
    Ok(Ipv4Cidr { address, prefix })
}

/// A 12-digit AWS account id.
pub fn account_id(value: &str) -> Result<String, Problem> {
    if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err((
            format!("`{value}` is not an AWS account id (12 digits)"),
            "set it to the id of the account to deploy into: `aws sts get-caller-identity \
             --query Account`"
                .into(),
        ))
    }
}

/// A name part for stack names: 1 to 32 lowercase letters, digits and hyphens, starting and
/// ending with a letter or digit (CloudFormation stack names allow letters, digits and
/// hyphens, up to 128 characters: CloudFormation API Reference, CreateStack StackName).
pub fn name_part(value: &str) -> Result<String, Problem> {
    let ok = (1..=32).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(value.to_string())
    } else {
        Err((
            format!("`{value}` is not a valid node name"),
            "use 1 to 32 lowercase letters, digits and hyphens, e.g. node-2".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_type_families() {
        let t = |v: &str| instance_type(v).unwrap();
        for gpu in [
            "g4dn.xlarge",
            "g5.xlarge",
            "g6e.2xlarge",
            "p3.2xlarge",
            "gr6.4xlarge",
            "p6-b200.48xlarge",
        ] {
            assert!(t(gpu).has_nvidia_gpu(), "{gpu}");
        }
        for cpu in [
            "g4ad.xlarge",
            "t3.medium",
            "m6i.xlarge",
            "inf2.xlarge",
            "c5.xlarge",
        ] {
            assert!(!t(cpu).has_nvidia_gpu(), "{cpu}");
        }
        for store in [
            "g4dn.xlarge",
            "m5d.large",
            "c7gd.large",
            "i3.large",
            "i4i.large",
            "d3.xlarge",
            "g5.xlarge",
            "p4d.24xlarge",
            "x2idn.16xlarge",
            "im4gn.large",
        ] {
            assert!(t(store).has_instance_store(), "{store}");
        }
        for ebs in [
            "t3.medium",
            "m6i.large",
            "c5.xlarge",
            "p3.2xlarge",
            "m7i-flex.large",
            "g5g.xlarge",
        ] {
            assert!(!t(ebs).has_instance_store(), "{ebs}");
        }
        assert!(t("c4.xlarge").is_xen() && !t("g4dn.xlarge").is_xen());
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-3",
            "il-central-1",
        ] {
            assert!(region(ok).is_ok(), "{ok}");
        }
        for bad in ["us-east", "US-EAST-1", "useast1", "us-east-123", "u-east-1"] {
            assert!(region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instance_types() {
        for ok in [
            "t3.medium",
            "g4dn.xlarge",
            "m7i-flex.large",
            "u-6tb1.metal",
            "c7gn.16xlarge",
        ] {
            assert!(instance_type(ok).is_ok(), "{ok}");
        }
        for bad in [
            "t3",
            "t3.",
            ".large",
            "medium.t3x",
            "t3.medium.x",
            "T3.medium",
            "t3 .medium",
        ] {
            assert!(instance_type(bad).is_err(), "{bad}");
        }
        let graviton = |t: &str| instance_type(t).unwrap().is_graviton();
        assert!(graviton("t4g.small") && graviton("c7gn.large") && graviton("im4gn.large"));
        assert!(!graviton("g4dn.xlarge") && !graviton("t3.medium") && !graviton("m7i-flex.large"));
    }

    #[test]
    fn cidrs() {
        assert_eq!(ipv4_cidr("10.0.0.0/16").unwrap().to_string(), "10.0.0.0/16");
        assert_eq!(ipv4_cidr("0.0.0.0/0").unwrap().prefix, 0);
        assert_eq!(
            ipv4_cidr("10.0.0.1/16").unwrap_err(),
            (
                "`10.0.0.1/16` has host bits set".to_string(),
                "use the network address: 10.0.0.0/16".to_string()
            )
        );
        assert!(ipv4_cidr("10.0.0.0").is_err());
        assert!(ipv4_cidr("10.0.0.0/33").is_err());
        assert!(ipv4_cidr("300.0.0.0/8").is_err());
    }
}
