//! The price table shipped with nodectl (`pricing/on-demand.json`, embedded in the binary):
//! on-demand list prices in USD for the regions the sample configurations use, each rate with
//! the id of the source it was taken from (the table's `sources` list says which numbers could
//! not be confirmed from a stored copy of their source).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The repository path of the embedded table, for messages.
pub(crate) const TABLE_PATH: &str = "pricing/on-demand.json";

/// The embedded table's text.
pub(crate) const TABLE_JSON: &str = include_str!("../../pricing/on-demand.json");

/// The price table: its date, sources and per-region rates.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceTable {
    /// The day the table was compiled (`YYYY-MM-DD`).
    pub date: String,
    /// The currency of every rate: `USD`.
    pub currency: String,
    /// What the prices are (on-demand, Linux, shared tenancy, no free tier).
    pub scope: String,
    /// Where the numbers come from, referred to by [`Rate::source`].
    pub sources: Vec<PriceSource>,
    /// Remarks on the table as a whole (what is not confirmed, what is not estimated).
    pub notes: Vec<String>,
    /// Rates by region code (`us-east-1`).
    pub regions: BTreeMap<String, RegionPrices>,
}

/// One source of the table's numbers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceSource {
    /// The id rates refer to.
    pub id: String,
    /// Which numbers it covers.
    pub what: String,
    /// The AWS pricing pages or Price List offer files the numbers are published in.
    pub urls: Vec<String>,
    /// The stored copies the numbers were checked against; empty when none was found.
    pub confirmed_by: Vec<String>,
    /// What could not be confirmed, if anything.
    #[serde(default)]
    pub note: Option<String>,
}

/// One price in USD and the id of its source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// The price in USD per the unit of the field that holds it.
    pub usd: f64,
    /// The id of its [`PriceSource`].
    pub source: String,
}

/// The rates of one region.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegionPrices {
    /// The region's name in the AWS price lists (`US East (N. Virginia)`).
    pub name: String,
    /// EC2 on-demand Linux instance prices in USD per hour, by instance type.
    pub instances: BTreeMap<String, Rate>,
    /// EBS rates by volume type (`gp3`, `io1`, `io2`).
    pub ebs: BTreeMap<String, EbsRates>,
    /// One public IPv4 address, in USD per hour.
    pub public_ipv4_hour: Rate,
    /// CloudWatch rates.
    pub cloudwatch: CloudWatchRates,
    /// Secrets Manager rates.
    pub secrets_manager: SecretsManagerRates,
}

/// The rates of one EBS volume type (Amazon EBS pricing page).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EbsRates {
    /// Storage in USD per GiB-month (AWS bills "GB-month" of binary gigabytes).
    pub gib_month: Rate,
    /// Provisioned IOPS included in the storage price (gp3: 3,000).
    #[serde(default)]
    pub free_iops: i64,
    /// Provisioned IOPS above `free_iops` in USD per IOPS-month (gp3, io1).
    #[serde(default)]
    pub iops_month: Option<Rate>,
    /// Provisioned IOPS in tiers (io2), in order.
    #[serde(default)]
    pub iops_tiers: Option<Vec<IopsTier>>,
    /// Throughput included in the storage price in MiB/s (gp3: 125).
    #[serde(default)]
    pub free_mibps: i64,
    /// Throughput above `free_mibps` in USD per MiB/s-month (gp3).
    #[serde(default)]
    pub mibps_month: Option<Rate>,
}

/// One tier of tiered IOPS pricing: the IOPS up to `up_to` (after the previous tier's bound).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IopsTier {
    /// The tier's upper bound in IOPS (inclusive); `None` for the last, unbounded tier.
    pub up_to: Option<i64>,
    /// USD per IOPS-month in this tier.
    pub usd: f64,
    /// The id of its [`PriceSource`].
    pub source: String,
}

/// CloudWatch rates (Amazon CloudWatch pricing page).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloudWatchRates {
    /// One custom dashboard, in USD per month.
    pub dashboard_month: Rate,
    /// One metric (custom or detailed monitoring), in USD per metric-month (first 10,000).
    pub metric_month: Rate,
    /// One standard-resolution alarm metric, in USD per month (an alarm on one metric is one;
    /// a metric math alarm counts each metric it reads).
    pub alarm_metric_month: Rate,
    /// CloudWatch Logs ingestion (Standard log class), in USD per GB.
    pub log_ingestion_gb: Rate,
    /// CloudWatch Logs storage, in USD per GB-month.
    pub log_storage_gb_month: Rate,
    /// The metrics EC2 detailed monitoring sends per instance, each billed as a metric.
    pub detailed_monitoring_metrics: i64,
}

/// Secrets Manager rates (AWS Secrets Manager pricing page).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretsManagerRates {
    /// One secret, in USD per month.
    pub secret_month: Rate,
}

impl PriceTable {
    /// The table embedded in the binary.
    pub fn embedded() -> PriceTable {
        Self::parse(TABLE_JSON).expect("pricing/on-demand.json is checked by the tests")
    }

    /// Parses a table; every rate's source must be one of its `sources`.
    pub fn parse(text: &str) -> Result<PriceTable, String> {
        let table: PriceTable = serde_json::from_str(text).map_err(|err| err.to_string())?;
        for (region, prices) in &table.regions {
            for source in prices.sources() {
                if !table.sources.iter().any(|s| s.id == source) {
                    return Err(format!("{region}: unknown source `{source}`"));
                }
            }
        }
        Ok(table)
    }

    /// The rates of `region`, if the table has them.
    pub fn region(&self, region: &str) -> Option<&RegionPrices> {
        self.regions.get(region)
    }

    /// The source with `id`.
    pub fn source(&self, id: &str) -> Option<&PriceSource> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// The region codes the table covers, comma-separated.
    pub fn region_list(&self) -> String {
        self.regions.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

impl RegionPrices {
    /// Every source id the region's rates name.
    fn sources(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.instances.values().map(|r| r.source.as_str()).collect();
        for ebs in self.ebs.values() {
            ids.push(&ebs.gib_month.source);
            ids.extend(ebs.iops_month.as_ref().map(|r| r.source.as_str()));
            ids.extend(ebs.mibps_month.as_ref().map(|r| r.source.as_str()));
            ids.extend(ebs.iops_tiers.iter().flatten().map(|t| t.source.as_str()));
        }
        ids.extend([
            self.public_ipv4_hour.source.as_str(),
            &self.cloudwatch.dashboard_month.source,
            &self.cloudwatch.metric_month.source,
            &self.cloudwatch.alarm_metric_month.source,
            &self.cloudwatch.log_ingestion_gb.source,
            &self.cloudwatch.log_storage_gb_month.source,
            &self.secrets_manager.secret_month.source,
        ]);
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_and_every_rate_has_a_source() {
        let table = PriceTable::embedded();
        assert_eq!(table.currency, "USD");
        assert!(table.date.len() == 10 && table.date.starts_with("20"));
        for id in ["us-east-1", "us-east-2"] {
            let region = table.region(id).expect("a sample region");
            // The sample configurations' and the blueprints' default instance types.
            for itype in ["t3.medium", "g4dn.xlarge", "g4dn.2xlarge", "m6i.xlarge"] {
                assert!(region.instances.contains_key(itype), "{id} {itype}");
            }
            for kind in ["gp3", "io1", "io2"] {
                assert!(region.ebs.contains_key(kind), "{id} {kind}");
            }
            let tiers = region.ebs["io2"].iops_tiers.as_ref().expect("io2 tiers");
            assert_eq!(tiers.last().map(|t| t.up_to), Some(None));
        }
        for source in &table.sources {
            assert!(!source.urls.is_empty(), "{}", source.id);
            if source.confirmed_by.is_empty() {
                assert!(source.note.is_some(), "{} needs a note", source.id);
            }
        }
    }

    #[test]
    fn a_rate_with_an_unknown_source_is_refused() {
        let text = TABLE_JSON.replacen("\"source\": \"ec2-gpu\"", "\"source\": \"nowhere\"", 1);
        let err = PriceTable::parse(&text).unwrap_err();
        assert!(err.contains("unknown source `nowhere`"), "{err}");
    }
}
