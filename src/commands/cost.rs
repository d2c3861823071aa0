//! `nodectl cost`: the monthly on-demand estimate of the stacks, offline from the built-in
//! price table; with `--price-list`, the instance prices come from the AWS Price List API.

use std::collections::HashMap;

use super::{aws_options, load_plan};
use crate::aws::{self, pricing::PRICE_LIST_REGION, AwsOptions};
use crate::cli::{CostArgs, GlobalArgs};
use crate::cost::price_list;
use crate::cost::table::PriceTable;
use crate::cost::{self, instance_types};
use crate::error::Result;
use crate::plan::Plan;
use crate::printer::{OutputFormat, Printer};

/// Attempts per Price List call: a failure falls back to the table, so it need not wait long.
const PRICE_LIST_ATTEMPTS: u32 = 2;

/// Prints the estimate (text table, or JSON with `--output json`); unknown prices are
/// warnings, not errors.
pub(super) async fn run(global: &GlobalArgs, printer: &Printer, args: &CostArgs) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let table = PriceTable::embedded();
    let prices = if args.price_list {
        ask_price_list(global, &plan, &table, printer).await
    } else {
        HashMap::new()
    };
    let estimate = cost::estimate(&plan, &table, &prices);
    for warning in &estimate.warnings {
        printer.warn(warning);
    }
    match printer.format() {
        OutputFormat::Json => printer.data_json(&estimate.to_json()),
        OutputFormat::Text => printer.data(&estimate.to_text()),
    }
    Ok(())
}

/// The instance prices of the plan from the AWS Price List API; a type the API gives no price
/// for is left out (the table prices it), with a warning.
async fn ask_price_list(
    global: &GlobalArgs,
    plan: &Plan,
    table: &PriceTable,
    printer: &Printer,
) -> HashMap<(String, String), f64> {
    let sdk = aws::load(&AwsOptions {
        region: PRICE_LIST_REGION.to_string(),
        max_attempts: PRICE_LIST_ATTEMPTS,
        ..aws_options(global)
    })
    .await;
    let client = aws_sdk_pricing::Client::new(&sdk);
    let mut prices = HashMap::new();
    for (region, instance_type) in instance_types(plan) {
        printer.info(&format!(
            "asking the AWS Price List API for the on-demand price of {instance_type} in {region}"
        ));
        match price_list::instance_hourly(&client, &instance_type, &region).await {
            Ok(price) => {
                prices.insert((region, instance_type), price);
            }
            Err(reason) => printer.warn(&format!(
                "the AWS Price List API gave no price for `{instance_type}` in `{region}` \
                 ({reason}); the built-in price table ({}) is used",
                table.date
            )),
        }
    }
    prices
}
