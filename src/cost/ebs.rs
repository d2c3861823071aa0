//! How Amazon EBS bills a volume (Amazon EBS pricing page, <https://aws.amazon.com/ebs/pricing/>):
//!
//! - gp3: storage per GiB-month, plus the provisioned IOPS above the 3,000 included per
//!   IOPS-month, plus the provisioned throughput above the 125 MiB/s included per MiB/s-month.
//! - io1: storage per GiB-month plus every provisioned IOPS per IOPS-month.
//! - io2: storage per GiB-month plus the provisioned IOPS in tiers: up to 32,000 at one rate,
//!   32,001 to 64,000 at a lower one, above 64,000 at the lowest.
//! - instance store: nothing; it is part of the instance price.
//!
//! Which rules apply comes from the fields a volume type has in the price table
//! ([`EbsRates`]), so a type priced like gp3 or io2 needs only a table entry.

use super::table::{EbsRates, IopsTier, Rate};

/// One billed dimension of a volume: `quantity` of `unit` at `rate`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Charge {
    /// What is billed, e.g. `gp3 IOPS above 3000`.
    pub what: String,
    /// How many units a month (GiB, IOPS or MiB/s, each for the whole month).
    pub quantity: f64,
    /// `GiB-month`, `IOPS-month` or `MiB/s-month`.
    pub unit: &'static str,
    /// The price of one unit.
    pub rate: Rate,
}

/// The monthly charges of a `kind` volume of `size_gib` GiB with `iops` provisioned IOPS and
/// `mibps` MiB/s provisioned throughput, under `rates`. Dimensions that cost nothing (IOPS and
/// throughput within the included baseline) are left out.
pub(crate) fn volume_charges(
    kind: &str,
    rates: &EbsRates,
    size_gib: i64,
    iops: i64,
    mibps: i64,
) -> Vec<Charge> {
    let mut charges = vec![Charge {
        what: format!("{kind} storage"),
        quantity: size_gib as f64,
        unit: "GiB-month",
        rate: rates.gib_month.clone(),
    }];
    if let Some(rate) = &rates.iops_month {
        let billed = iops - rates.free_iops;
        if billed > 0 {
            let what = if rates.free_iops > 0 {
                format!("{kind} IOPS above {}", rates.free_iops)
            } else {
                format!("{kind} provisioned IOPS")
            };
            charges.push(Charge {
                what,
                quantity: billed as f64,
                unit: "IOPS-month",
                rate: rate.clone(),
            });
        }
    }
    if let Some(tiers) = &rates.iops_tiers {
        for part in split_tiers(iops, tiers) {
            let what = match part.to {
                Some(to) => format!("{kind} IOPS {} to {to}", part.from),
                None => format!("{kind} IOPS above {}", part.from - 1),
            };
            charges.push(Charge {
                what,
                quantity: part.iops as f64,
                unit: "IOPS-month",
                rate: Rate {
                    usd: part.tier.usd,
                    source: part.tier.source.clone(),
                },
            });
        }
    }
    if let Some(rate) = &rates.mibps_month {
        let billed = mibps - rates.free_mibps;
        if billed > 0 {
            charges.push(Charge {
                what: format!("{kind} throughput above {} MiB/s", rates.free_mibps),
                quantity: billed as f64,
                unit: "MiB/s-month",
                rate: rate.clone(),
            });
        }
    }
    charges
}

/// The IOPS of one tier that a volume uses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TierPart<'a> {
    /// The tier's first IOPS (1-based: the first tier starts at 1).
    pub from: i64,
    /// The tier's last IOPS, `None` for the unbounded last tier.
    pub to: Option<i64>,
    /// How many of the volume's IOPS fall in this tier.
    pub iops: i64,
    /// The tier.
    pub tier: &'a IopsTier,
}

/// Splits `iops` provisioned IOPS over `tiers` (in order, each up to its bound), as io2 is
/// billed: with tiers up to 32,000 and 64,000 and above, 70,000 IOPS are 32,000 + 32,000 +
/// 6,000. Tiers the volume does not reach are left out.
pub(crate) fn split_tiers(iops: i64, tiers: &[IopsTier]) -> Vec<TierPart<'_>> {
    let mut parts = Vec::new();
    let mut below = 0;
    for tier in tiers {
        if iops <= below {
            break;
        }
        let top = tier.up_to.map_or(iops, |bound| bound.min(iops));
        parts.push(TierPart {
            from: below + 1,
            to: tier.up_to,
            iops: top - below,
            tier,
        });
        match tier.up_to {
            Some(bound) => below = bound,
            None => break,
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(usd: f64) -> Rate {
        Rate {
            usd,
            source: "test".into(),
        }
    }

    fn io2() -> EbsRates {
        let tier = |up_to, usd| IopsTier {
            up_to,
            usd,
            source: "test".into(),
        };
        EbsRates {
            gib_month: rate(0.125),
            free_iops: 0,
            iops_month: None,
            iops_tiers: Some(vec![
                tier(Some(32_000), 0.065),
                tier(Some(64_000), 0.0455),
                tier(None, 0.032),
            ]),
            free_mibps: 0,
            mibps_month: None,
        }
    }

    fn cost(charges: &[Charge]) -> Vec<(String, f64, f64)> {
        charges
            .iter()
            .map(|c| {
                (
                    c.what.clone(),
                    c.quantity,
                    (c.quantity * c.rate.usd * 100.0).round() / 100.0,
                )
            })
            .collect()
    }

    #[test]
    fn io2_iops_within_the_first_tier_use_one_rate() {
        let charges = volume_charges("io2", &io2(), 500, 20_000, 125);
        assert_eq!(
            cost(&charges),
            [
                ("io2 storage".to_string(), 500.0, 62.5),
                ("io2 IOPS 1 to 32000".to_string(), 20_000.0, 1300.0),
            ]
        );
    }

    #[test]
    fn io2_iops_at_a_tier_bound_stay_in_that_tier() {
        let rates = io2();
        let parts = split_tiers(32_000, rates.iops_tiers.as_ref().unwrap());
        assert_eq!(parts.len(), 1);
        assert_eq!(
            (parts[0].from, parts[0].to, parts[0].iops),
            (1, Some(32_000), 32_000)
        );
        let parts = split_tiers(64_000, rates.iops_tiers.as_ref().unwrap());
        assert_eq!(
            parts
                .iter()
                .map(|p| (p.from, p.to, p.iops))
                .collect::<Vec<_>>(),
            [(1, Some(32_000), 32_000), (32_001, Some(64_000), 32_000)]
        );
    }

    #[test]
    fn io2_iops_above_64000_use_all_three_tiers() {
        let charges = volume_charges("io2", &io2(), 1000, 70_000, 125);
        assert_eq!(
            cost(&charges),
            [
                ("io2 storage".to_string(), 1000.0, 125.0),
                ("io2 IOPS 1 to 32000".to_string(), 32_000.0, 2080.0),
                ("io2 IOPS 32001 to 64000".to_string(), 32_000.0, 1456.0),
                ("io2 IOPS above 64000".to_string(), 6_000.0, 192.0),
            ]
        );
    }

    #[test]
    fn no_iops_no_tiers() {
        assert!(split_tiers(0, io2().iops_tiers.as_ref().unwrap()).is_empty());
    }

    #[test]
    fn gp3_bills_only_iops_and_throughput_above_the_baseline() {
        let gp3 = EbsRates {
            gib_month: rate(0.08),
            free_iops: 3000,
            iops_month: Some(rate(0.005)),
            iops_tiers: None,
            free_mibps: 125,
            mibps_month: Some(rate(0.04)),
        };
        // The seed's data volume: 256 GiB, 10,000 IOPS, 125 MiB/s.
        assert_eq!(
            cost(&volume_charges("gp3", &gp3, 256, 10_000, 125)),
            [
                ("gp3 storage".to_string(), 256.0, 20.48),
                ("gp3 IOPS above 3000".to_string(), 7000.0, 35.0),
            ]
        );
        assert_eq!(
            cost(&volume_charges("gp3", &gp3, 256, 10_000, 700)),
            [
                ("gp3 storage".to_string(), 256.0, 20.48),
                ("gp3 IOPS above 3000".to_string(), 7000.0, 35.0),
                ("gp3 throughput above 125 MiB/s".to_string(), 575.0, 23.0),
            ]
        );
        assert_eq!(
            cost(&volume_charges("gp3", &gp3, 46, 3000, 125)),
            [("gp3 storage".to_string(), 46.0, 3.68)]
        );
    }

    #[test]
    fn io1_bills_every_provisioned_iops() {
        let io1 = EbsRates {
            gib_month: rate(0.125),
            free_iops: 0,
            iops_month: Some(rate(0.065)),
            iops_tiers: None,
            free_mibps: 0,
            mibps_month: None,
        };
        assert_eq!(
            cost(&volume_charges("io1", &io1, 256, 3000, 125)),
            [
                ("io1 storage".to_string(), 256.0, 32.0),
                ("io1 provisioned IOPS".to_string(), 3000.0, 195.0),
            ]
        );
    }
}
