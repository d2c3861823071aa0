//! Building an [`Estimate`] from a plan: what each stack uses, line by line, priced from the
//! table or the Price List API.

use std::collections::HashMap;

use super::table::{PriceTable, Rate, RegionPrices};
use super::{
    cents, ebs, resources, Category, Estimate, Line, PriceOrigin, ALARM_NOTE, DASHBOARD_NOTE,
    HOURS_PER_MONTH, INSTANCE_STORE_NOTE, LOG_GB_PER_MONTH, LOG_NOTE, METRICS_NOTE,
};
use crate::facts::Facts;
use crate::plan::Plan;

/// The regions and instance types of the plan's instances (for [`price_list`] look-ups), as
/// `(region, instance type)`, without repeats.
pub fn instance_types(plan: &Plan) -> Vec<(String, String)> {
    let mut types = Vec::new();
    for stack in &plan.stacks {
        let usage = resources::read(stack, &stack.region);
        for instance in usage.instances {
            if let Some(itype) = instance.instance_type {
                let key = (stack.region.clone(), itype);
                if !types.contains(&key) {
                    types.push(key);
                }
            }
        }
    }
    types
}

/// Estimates `plan` with `table`, each stack at its region's prices; `instance_prices` (USD per
/// hour by region and instance type, from the
/// Price List API) take precedence over the table's instance prices.
pub fn estimate(
    plan: &Plan,
    table: &PriceTable,
    instance_prices: &HashMap<(String, String), f64>,
) -> Estimate {
    let mut builder = Builder {
        table,
        region: &plan.region,
        prices: None,
        lines: Vec::new(),
        warnings: Vec::new(),
        stack: String::new(),
    };
    for region in plan.regions() {
        let here: HashMap<String, f64> = instance_prices
            .iter()
            .filter(|((at, _), _)| at == region)
            .map(|((_, itype), price)| (itype.clone(), *price))
            .collect();
        builder.region_stacks(plan, region, &here);
    }
    Estimate {
        blueprint: plan.blueprint.to_string(),
        region: plan.region.clone(),
        region_name: table.region(&plan.region).map(|r| r.name.clone()),
        table_date: table.date.clone(),
        lines: builder.lines,
        warnings: builder.warnings,
    }
}

impl<'a> Builder<'a> {
    /// Adds the lines of the stacks of `plan` in `region`.
    fn region_stacks(
        &mut self,
        plan: &'a Plan,
        region: &'a str,
        instance_prices: &HashMap<String, f64>,
    ) {
        let builder = self;
        let table = builder.table;
        builder.region = region;
        builder.prices = table.region(region);
        if builder.prices.is_none() && plan.stacks.iter().any(|stack| stack.region == region) {
            builder.warnings.push(format!(
            "region `{}` is not in the built-in price table ({}), which covers {}: its lines are \
             unknown and not in the total{}",
            region,
            table.date,
            table.region_list(),
            if instance_prices.is_empty() {
                " (`nodectl cost --price-list` asks the AWS Price List API for the instance price)"
            } else {
                ""
            }
        ));
        }
        for stack in plan.stacks.iter().filter(|stack| stack.region == region) {
            builder.stack = stack.name.clone();
            let usage = resources::read(stack, region);
            if !usage.unpriced.is_empty() {
                let list = usage
                    .unpriced
                    .iter()
                    .map(|(id, kind)| format!("{id} ({kind})"))
                    .collect::<Vec<_>>()
                    .join(", ");
                builder.warnings.push(format!(
                "stack `{}` has resources this estimate does not price: {list}; their cost, if \
                 any, is not in the total",
                stack.name
            ));
            }
            for instance in &usage.instances {
                builder.instance(instance, instance_prices);
            }
            for (id, what) in &usage.usage {
                let kind = what.split(':').next().unwrap_or(what);
                builder.lines.push(Line {
                    stack: stack.name.clone(),
                    category: Category::Usage,
                    item: format!("{kind} {id}"),
                    quantity: 0.0,
                    unit: String::new(),
                    unit_price: None,
                    monthly_cents: None,
                    source: None,
                    note: Some(what),
                });
            }
            for volume in usage.volumes.iter().filter(|v| !v.root) {
                builder.volume(volume, Category::DataVolume);
            }
            for volume in usage.volumes.iter().filter(|v| v.root) {
                builder.volume(volume, Category::RootVolume);
            }
            if !usage.public_ipv4.is_empty() {
                let count = usage.public_ipv4.len() as f64;
                let item = if usage.public_ipv4.len() == 1 {
                    "public IPv4 address".to_string()
                } else {
                    format!("public IPv4 addresses ({})", usage.public_ipv4.len())
                };
                let rate = builder.prices.map(|p| p.public_ipv4_hour.clone());
                builder.push(
                    Category::Network,
                    item,
                    count * HOURS_PER_MONTH,
                    "h",
                    rate,
                    None,
                );
            }
            for _ in &usage.dashboards {
                let rate = builder.prices.map(|p| p.cloudwatch.dashboard_month.clone());
                builder.push(
                    Category::Monitoring,
                    "CloudWatch dashboard".into(),
                    1.0,
                    "dashboard-month",
                    rate,
                    Some(DASHBOARD_NOTE),
                );
            }
            for (id, metrics) in &usage.alarms {
                let rate = builder
                    .prices
                    .map(|p| p.cloudwatch.alarm_metric_month.clone());
                builder.push(
                    Category::Monitoring,
                    format!("CloudWatch alarm {id}"),
                    *metrics as f64,
                    "alarm-metric-month",
                    rate,
                    Some(ALARM_NOTE),
                );
            }
            for (id, retention) in &usage.log_groups {
                let rate = builder
                    .prices
                    .map(|p| p.cloudwatch.log_ingestion_gb.clone());
                builder.push(
                    Category::Monitoring,
                    format!("CloudWatch Logs ingestion {id}"),
                    LOG_GB_PER_MONTH,
                    "GB",
                    rate,
                    Some(LOG_NOTE),
                );
                // Kept for the retention (a month's log times the months kept); a group that never
                // expires is priced at a year's log.
                let months = retention.map(|days| days as f64 / 30.0).unwrap_or(12.0);
                let rate = builder
                    .prices
                    .map(|p| p.cloudwatch.log_storage_gb_month.clone());
                builder.push(
                    Category::Monitoring,
                    format!("CloudWatch Logs storage {id}"),
                    LOG_GB_PER_MONTH * months,
                    "GB-month",
                    rate,
                    Some(LOG_NOTE),
                );
            }
            for instance in &usage.instances {
                builder.metrics(instance, plan.facts);
            }
            // The secrets of the template, and those nodectl writes for the stack (a node's secret).
            let written = stack.secrets().count();
            for _ in 0..usage.secrets.len() + written {
                let rate = builder
                    .prices
                    .map(|p| p.secrets_manager.secret_month.clone());
                builder.push(
                    Category::Secrets,
                    "Secrets Manager secret".into(),
                    1.0,
                    "secret-month",
                    rate,
                    None,
                );
            }
        }
    }
}

struct Builder<'a> {
    table: &'a PriceTable,
    region: &'a str,
    prices: Option<&'a RegionPrices>,
    lines: Vec<Line>,
    warnings: Vec<String>,
    stack: String,
}

impl Builder<'_> {
    /// Adds a line priced with `rate` from the table (unknown when `None`).
    fn push(
        &mut self,
        category: Category,
        item: String,
        quantity: f64,
        unit: &str,
        rate: Option<Rate>,
        note: Option<&'static str>,
    ) {
        let (unit_price, source) = match rate {
            Some(rate) => (Some(rate.usd), Some(PriceOrigin::Table(rate.source))),
            None => (None, None),
        };
        self.push_priced(category, item, quantity, unit, unit_price, source, note);
    }

    #[allow(clippy::too_many_arguments)]
    fn push_priced(
        &mut self,
        category: Category,
        item: String,
        quantity: f64,
        unit: &str,
        unit_price: Option<f64>,
        source: Option<PriceOrigin>,
        note: Option<&'static str>,
    ) {
        self.lines.push(Line {
            stack: self.stack.clone(),
            category,
            item,
            quantity,
            unit: unit.to_string(),
            unit_price,
            monthly_cents: unit_price.map(|price| cents(quantity, price)),
            source,
            note,
        });
    }

    fn instance(&mut self, instance: &resources::InstanceUse, overrides: &HashMap<String, f64>) {
        let Some(itype) = &instance.instance_type else {
            self.warnings.push(format!(
                "the instance type of `{}` in stack `{}` cannot be read from its template: the \
                 instance line is unknown and not in the total",
                instance.logical_id, self.stack
            ));
            self.push(
                Category::Instance,
                format!("EC2 instance {}", instance.logical_id),
                HOURS_PER_MONTH,
                "h",
                None,
                None,
            );
            return;
        };
        let item = format!("EC2 instance {itype}");
        if let Some(price) = overrides.get(itype) {
            self.push_priced(
                Category::Instance,
                item,
                HOURS_PER_MONTH,
                "h",
                Some(*price),
                Some(PriceOrigin::PriceListApi),
                None,
            );
            return;
        }
        let rate = self.prices.and_then(|p| p.instances.get(itype).cloned());
        if rate.is_none() && self.prices.is_some() {
            self.warnings.push(format!(
                "no price for instance type `{itype}` in `{}` in the built-in price table ({}): \
                 the instance line is unknown and not in the total (`nodectl cost --price-list` \
                 asks the AWS Price List API)",
                self.region, self.table.date
            ));
        }
        self.push(Category::Instance, item, HOURS_PER_MONTH, "h", rate, None);
    }

    fn volume(&mut self, volume: &resources::VolumeUse, category: Category) {
        if volume.kind == "instance-store" {
            self.push_priced(
                category,
                format!("{}: instance store", volume.label),
                1.0,
                "volume",
                Some(0.0),
                None,
                Some(INSTANCE_STORE_NOTE),
            );
            return;
        }
        let rates = self.prices.and_then(|p| p.ebs.get(&volume.kind));
        let Some(rates) = rates.filter(|_| volume.size_gib > 0) else {
            if self.prices.is_some() {
                let why = if volume.size_gib == 0 {
                    "its size is not in the template".to_string()
                } else {
                    format!(
                        "volume type `{}` is not in the built-in price table ({}) for `{}`",
                        volume.kind, self.table.date, self.region
                    )
                };
                self.warnings.push(format!(
                    "the {} of stack `{}` cannot be priced: {why}; its line is unknown and not \
                     in the total",
                    volume.label, self.stack
                ));
            }
            self.push(
                category,
                format!("{}: {}", volume.label, volume.kind),
                volume.size_gib as f64,
                "GiB-month",
                None,
                None,
            );
            return;
        };
        for charge in ebs::volume_charges(
            &volume.kind,
            rates,
            volume.size_gib,
            volume.iops,
            volume.mibps,
        ) {
            self.push(
                category,
                format!("{}: {}", volume.label, charge.what),
                charge.quantity,
                charge.unit,
                Some(charge.rate),
                None,
            );
        }
    }

    fn metrics(&mut self, instance: &resources::InstanceUse, facts: &Facts) {
        if instance.detailed_monitoring {
            let rate = self.prices.map(|p| p.cloudwatch.metric_month.clone());
            let count = self
                .prices
                .map_or(7, |p| p.cloudwatch.detailed_monitoring_metrics);
            self.push(
                Category::Monitoring,
                "EC2 detailed monitoring".into(),
                count as f64,
                "metric-month",
                rate,
                Some(METRICS_NOTE),
            );
        }
        for publisher in facts.publishers(&instance.user_data) {
            let rate = self.prices.map(|p| p.cloudwatch.metric_month.clone());
            self.push(
                Category::Monitoring,
                format!("custom metrics: {}", publisher.name),
                publisher.count() as f64,
                "metric-month",
                rate,
                Some(METRICS_NOTE),
            );
        }
    }
}
