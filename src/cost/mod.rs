//! `nodectl cost`: a monthly on-demand estimate of the rendered stacks, offline, from the price
//! table shipped in `pricing/on-demand.json` ([`table`]), or with the instance prices from the
//! AWS Price List API ([`price_list`]).
//!
//! Method (see `docs/cost.md`): what the stacks use is read from their rendered templates
//! ([`resources`]) plus the custom metrics their user data publishes (the blueprint's facts:
//! its metric publishers); each use is
//! priced for a month of [`HOURS_PER_MONTH`] hours, the AWS Pricing Calculator's convention,
//! and rounded to cents per line; the total is the sum of the lines. Unknown prices are never
//! guessed: the line says so and stays out of the total, with a warning.

pub(crate) mod ebs;
mod estimate;
pub mod price_list;
pub(crate) mod resources;
pub(crate) mod table;

use serde_json::{json, Value};

pub use estimate::{estimate, instance_types};
use table::TABLE_PATH;

/// Hours in a month: 730 (365 days × 24 hours / 12), as the AWS Pricing Calculator counts.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// What a line is for; the seed's estimate covers [`Category::Instance`] and
/// [`Category::DataVolume`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// EC2 instance hours.
    Instance,
    /// EBS data volumes (or the instance store taking their place).
    DataVolume,
    /// EBS root volumes of instances.
    RootVolume,
    /// Public IPv4 addresses.
    Network,
    /// CloudWatch dashboards and metrics.
    Monitoring,
    /// Secrets Manager secrets.
    Secrets,
    /// Resources billed by use only (queues, buckets, functions, APIs): no amount.
    Usage,
}

impl Category {
    /// The name used in the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Category::Instance => "instance",
            Category::DataVolume => "data-volume",
            Category::RootVolume => "root-volume",
            Category::Network => "network",
            Category::Monitoring => "monitoring",
            Category::Secrets => "secrets",
            Category::Usage => "usage",
        }
    }
}

/// Where a line's price comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PriceOrigin {
    /// The built-in table, with the id of the rate's source.
    Table(String),
    /// The AWS Price List API.
    PriceListApi,
}

impl PriceOrigin {
    /// As printed in the JSON output: `table:<source id>` or `price-list-api`.
    pub fn label(&self) -> String {
        match self {
            PriceOrigin::Table(id) => format!("table:{id}"),
            PriceOrigin::PriceListApi => "price-list-api".into(),
        }
    }
}

/// One line of the estimate: `quantity` `unit`s at `unit_price` USD each, for a month.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The stack the resource belongs to.
    pub stack: String,
    /// What the line is for.
    pub category: Category,
    /// What is billed, e.g. `EC2 instance g4dn.xlarge`, `data volume: gp3 storage`.
    pub item: String,
    /// How many units a month: hours, GiB-months, IOPS-months, metric-months, ...
    pub quantity: f64,
    /// The unit of `quantity`: `h`, `GiB-month`, `IOPS-month`, `MiB/s-month`, ...
    pub unit: String,
    /// USD per unit; `None` when the price is unknown.
    pub unit_price: Option<f64>,
    /// The monthly amount in US cents (quantity × unit price, rounded to the cent); `None`
    /// when the price is unknown.
    pub monthly_cents: Option<i64>,
    /// Where the price comes from; `None` when unknown.
    pub source: Option<PriceOrigin>,
    /// A remark printed as a footnote (free tier, included in another price, ...).
    pub note: Option<&'static str>,
}

/// The footnote of alarm lines.
pub const ALARM_NOTE: &str =
    "an account's first 10 standard-resolution alarm metrics are free (CloudWatch free tier); the lines are the list price";

/// The footnote of dashboard lines.
pub const DASHBOARD_NOTE: &str =
    "an account's first 3 dashboards are free (CloudWatch free tier); the line is the list price";
/// The footnote of metric lines.
pub const METRICS_NOTE: &str = "an account's first 10 metrics (custom and detailed monitoring \
     together) are free (CloudWatch free tier); the lines are the list price";
/// The log a node's log group is assumed to receive, in GB a month: an SDK worker logs a few
/// lines per submission window at INFO (`templates/allora/sdk-worker.py`), far less than this.
pub const LOG_GB_PER_MONTH: f64 = 0.1;
/// The footnote of log group lines.
pub const LOG_NOTE: &str = "assumes 0.1 GB of log a month, stored for the group's retention; an \
     account's first 5 GB of ingestion a month are free (CloudWatch free tier); the lines are the \
     list price";
/// The footnote of an instance store data volume.
pub const INSTANCE_STORE_NOTE: &str = "the instance store is included in the instance price";
/// What the estimate leaves out.
pub const NOT_INCLUDED: &str = "data transfer out, EBS snapshots, CloudWatch API requests, \
     KMS and Secrets Manager requests, taxes";

/// The estimate of one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The blueprint name.
    pub blueprint: String,
    /// The region priced.
    pub region: String,
    /// The region's name in the price table, if the table has it.
    pub region_name: Option<String>,
    /// The date of the price table.
    pub table_date: String,
    /// The lines, in stack order.
    pub lines: Vec<Line>,
    /// Why some lines are unknown, one message each.
    pub warnings: Vec<String>,
}

impl Estimate {
    /// The sum of the known lines, in cents.
    pub fn total_cents(&self) -> i64 {
        self.lines.iter().filter_map(|l| l.monthly_cents).sum()
    }

    /// The lines whose price is unknown (usage-priced lines are not unknown).
    pub fn unknown_lines(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| l.monthly_cents.is_none() && l.category != Category::Usage)
            .count()
    }

    /// The sum of the known lines of `categories`, in cents.
    pub fn subtotal_cents(&self, categories: &[Category]) -> i64 {
        self.lines
            .iter()
            .filter(|l| categories.contains(&l.category))
            .filter_map(|l| l.monthly_cents)
            .sum()
    }

    /// Whether instance prices came from the AWS Price List API.
    pub fn uses_price_list(&self) -> bool {
        self.lines
            .iter()
            .any(|l| l.source == Some(PriceOrigin::PriceListApi))
    }

    /// The estimate as a JSON object: the lines (stack, category, item, quantity, unit, unit
    /// price and monthly USD, source, note), the total and the seed's subtotal.
    pub fn to_json(&self) -> Value {
        let lines: Vec<Value> = self
            .lines
            .iter()
            .map(|line| {
                json!({
                    "stack": line.stack,
                    "category": line.category.name(),
                    "item": line.item,
                    "quantity": line.quantity,
                    "unit": line.unit,
                    "unitPriceUsd": line.unit_price,
                    "monthlyUsd": line.monthly_cents.map(usd),
                    "source": line.source.as_ref().map(PriceOrigin::label),
                    "note": line.note,
                })
            })
            .collect();
        json!({
            "blueprint": self.blueprint,
            "region": self.region,
            "regionName": self.region_name,
            "pricing": "on-demand",
            "currency": "USD",
            "hoursPerMonth": HOURS_PER_MONTH,
            "priceTable": {"file": TABLE_PATH, "date": self.table_date},
            "lines": lines,
            "totalUsd": usd(self.total_cents()),
            "unknownLines": self.unknown_lines(),
            "instanceAndDataVolumeUsd": usd(self.subtotal_cents(SEED_SCOPE)),
            "notIncluded": NOT_INCLUDED,
        })
    }

    /// The estimate as a text table: a heading with the pricing basis, one row per line under
    /// its stack, the total, the instance and data volume subtotal, footnotes.
    pub fn to_text(&self) -> String {
        let mut notes: Vec<&'static str> = Vec::new();
        let mut rows: Vec<[String; 4]> = Vec::new();
        let mut stack = None;
        for line in &self.lines {
            if stack != Some(&line.stack) {
                rows.push([
                    line.stack.clone(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
                stack = Some(&line.stack);
            }
            let mut item = format!("  {}", line.item);
            if let Some(note) = line.note {
                let index = match notes.iter().position(|n| *n == note) {
                    Some(index) => index,
                    None => {
                        notes.push(note);
                        notes.len() - 1
                    }
                };
                item.push_str(&format!(" [{}]", index + 1));
            }
            if line.category == Category::Usage {
                rows.push([item, "-".into(), "by use".into(), "usage-priced".into()]);
                continue;
            }
            rows.push([
                item,
                format!("{} {}", number(line.quantity), line.unit),
                match line.unit_price {
                    Some(price) => format!("{} USD/{}", price_text(price), line.unit),
                    None => "unknown".into(),
                },
                line.monthly_cents.map_or_else(|| "unknown".into(), money),
            ]);
        }
        let mut source = format!("prices from {} ({TABLE_PATH})", self.table_date);
        if self.uses_price_list() {
            source.push_str(", instance prices from the AWS Price List API");
        }
        let usage = self
            .lines
            .iter()
            .filter(|l| l.category == Category::Usage)
            .count();
        let mut total_label = if self.unknown_lines() > 0 {
            format!(
                "total without the {} unknown line{}",
                self.unknown_lines(),
                if self.unknown_lines() == 1 { "" } else { "s" }
            )
        } else {
            "total".into()
        };
        if usage > 0 {
            total_label.push_str(&format!(
                "{} the {usage} usage-priced line{}",
                if self.unknown_lines() > 0 {
                    " and"
                } else {
                    " without"
                },
                if usage == 1 { "" } else { "s" }
            ));
        }
        let footer = [
            (total_label, self.total_cents()),
            (
                "  of which instance and data volume".to_string(),
                self.subtotal_cents(SEED_SCOPE),
            ),
        ];
        let header = [
            "STACK / ITEM".to_string(),
            "QUANTITY".into(),
            "UNIT PRICE".into(),
            "USD/MONTH".into(),
        ];
        // Stack rows (one cell) do not widen the first column.
        let table_rows =
            || std::iter::once(&header).chain(rows.iter().filter(|r| !r[1].is_empty()));
        let width = |column: usize| {
            table_rows()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        };
        let mut widths = [width(0), width(1), width(2), width(3)];
        widths[3] = widths[3].max(
            footer
                .iter()
                .map(|(_, c)| money(*c).len())
                .max()
                .unwrap_or(0),
        );
        let format_row = |row: &[String; 4]| {
            if row[1].is_empty() {
                return row[0].clone();
            }
            format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
            )
        };
        let span = widths[0] + widths[1] + widths[2] + 4;
        let format_footer = |(label, amount): &(String, i64)| {
            format!("{label:<span$}  {:>w3$}", money(*amount), w3 = widths[3])
        };
        let mut out = vec![
            format!(
                "Monthly cost estimate of the {} stacks in {}: on-demand, 730 h/month, {source}",
                self.blueprint, self.region
            ),
            String::new(),
            format_row(&header),
        ];
        out.extend(rows.iter().map(format_row));
        out.push(String::new());
        out.extend(footer.iter().map(format_footer));
        out.push(String::new());
        for (index, note) in notes.iter().enumerate() {
            out.push(format!("[{}] {note}", index + 1));
        }
        out.push(format!("Not included: {NOT_INCLUDED}."));
        out.join("\n")
    }
}

/// The categories of the upstream seed's estimate (instance and data volume).
pub const SEED_SCOPE: &[Category] = &[Category::Instance, Category::DataVolume];

/// Cents as a JSON number of USD (`38398` → `383.98`).
fn usd(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Cents as `383.98`.
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// A quantity: whole numbers without decimals.
fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// A unit price with at least two decimals: `0.526`, `0.08`, `3.00`.
fn price_text(value: f64) -> String {
    let text = format!("{value}");
    match text.split_once('.') {
        Some((_, decimals)) if decimals.len() >= 2 => text,
        Some((_, decimals)) => format!("{text}{}", "0".repeat(2 - decimals.len())),
        None => format!("{text}.00"),
    }
}

/// The monthly amount of `quantity` at `usd` per unit, rounded to the cent.
pub(crate) fn cents(quantity: f64, usd: f64) -> i64 {
    (quantity * usd * 100.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_prices_print_as_on_the_aws_pages() {
        assert_eq!(money(43946), "439.46");
        assert_eq!(money(5), "0.05");
        assert_eq!(price_text(0.526), "0.526");
        assert_eq!(price_text(0.08), "0.08");
        assert_eq!(price_text(3.0), "3.00");
        assert_eq!(price_text(0.3), "0.30");
        assert_eq!(number(730.0), "730");
        assert_eq!(number(1.5), "1.50");
    }

    #[test]
    fn lines_are_rounded_to_the_cent_one_by_one() {
        assert_eq!(cents(730.0, 0.526), 38398);
        assert_eq!(cents(256.0, 0.08), 2048);
        assert_eq!(cents(7000.0, 0.005), 3500);
        assert_eq!(cents(730.0, 0.0416), 3037);
    }
}
