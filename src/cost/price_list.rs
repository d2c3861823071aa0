//! EC2 instance prices from the AWS Price List Query API (`pricing:GetProducts`), for
//! `nodectl cost --price-list`.
//!
//! The API is served only in `us-east-1`, `eu-central-1` and `ap-south-1` (AWS Billing User
//! Guide, "Using the AWS Price List Query API"), whatever region is priced, so the client is
//! built for `us-east-1`. Each product of `GetProducts` is a JSON document in the price list
//! file format (AWS Billing User Guide, "Reading the service price list file"):
//!
//! ```text
//! {"product": {"productFamily": "Compute Instance", "sku": "...",
//!              "attributes": {"instanceType": "g4dn.xlarge", "operation": "RunInstances", ...}},
//!  "serviceCode": "AmazonEC2",
//!  "terms": {"OnDemand": {"<sku>.<offerTermCode>": {"priceDimensions": {"<rateCode>":
//!            {"unit": "Hrs", "pricePerUnit": {"USD": "0.5260000000"}, ...}}, ...}},
//!            "Reserved": {...}},
//!  "version": "...", "publicationDate": "..."}
//! ```

use serde_json::Value;

use crate::aws::pricing::get_products;
use crate::aws::AwsErrorKind;

/// The product filters for the on-demand price of `instance_type` in `region`: Linux with no
/// pre-installed software, shared tenancy, capacity status `Used` (not a capacity reservation).
pub fn filters<'a>(instance_type: &'a str, region: &'a str) -> [(&'static str, &'a str); 6] {
    [
        ("instanceType", instance_type),
        ("regionCode", region),
        ("operatingSystem", "Linux"),
        ("tenancy", "Shared"),
        ("preInstalledSw", "NA"),
        ("capacitystatus", "Used"),
    ]
}

/// Asks the Price List API for the on-demand hourly price in USD of a Linux `instance_type`
/// in `region`. Errors: the call fails (no credentials, no network, access denied), or no
/// product or no single price matches.
pub async fn instance_hourly(
    client: &aws_sdk_pricing::Client,
    instance_type: &str,
    region: &str,
) -> Result<f64, String> {
    let price_list = get_products(client, "AmazonEC2", &filters(instance_type, region))
        .await
        .map_err(|err| match err.kind {
            AwsErrorKind::Credentials => "no AWS credentials were found".to_string(),
            _ => err
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        })?;
    hourly_from_price_list(&price_list, instance_type, region)
}

/// The on-demand USD price per hour of `instance_type` in `region` in the `PriceList` of a
/// GetProducts response: of the products for the plain `RunInstances` operation (Linux/UNIX
/// without licensed software), the `OnDemand` price dimension with unit `Hrs`.
pub fn hourly_from_price_list(
    price_list: &[String],
    instance_type: &str,
    region: &str,
) -> Result<f64, String> {
    let mut prices = Vec::new();
    for document in price_list {
        let product: Value = serde_json::from_str(document)
            .map_err(|err| format!("a PriceList entry is not JSON: {err}"))?;
        let attributes = &product["product"]["attributes"];
        let attribute = |name: &str| attributes.get(name).and_then(Value::as_str);
        if attribute("instanceType") != Some(instance_type)
            || attribute("regionCode").is_some_and(|r| r != region)
            || attribute("operation").is_some_and(|op| op != "RunInstances")
        {
            continue;
        }
        let Some(terms) = product["terms"]["OnDemand"].as_object() else {
            continue;
        };
        for term in terms.values() {
            let Some(dimensions) = term["priceDimensions"].as_object() else {
                continue;
            };
            for dimension in dimensions.values() {
                if dimension["unit"].as_str() != Some("Hrs") {
                    continue;
                }
                let Some(usd) = dimension["pricePerUnit"]["USD"].as_str() else {
                    continue;
                };
                let usd: f64 = usd
                    .parse()
                    .map_err(|_| format!("price `{usd}` is not a number"))?;
                if !prices.contains(&usd) {
                    prices.push(usd);
                }
            }
        }
    }
    match prices.as_slice() {
        [price] => Ok(*price),
        [] => Err(format!(
            "no on-demand Linux price for `{instance_type}` in `{region}`"
        )),
        several => Err(format!(
            "{} different on-demand prices for `{instance_type}` in `{region}`: {several:?}",
            several.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(operation: &str, usd: &str) -> String {
        serde_json::json!({
            "product": {
                "productFamily": "Compute Instance",
                "sku": "CZ7P6PCB3F2S3ZRM",
                "attributes": {
                    "instanceType": "g4dn.xlarge", "regionCode": "us-east-1",
                    "operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
                    "capacitystatus": "Used", "operation": operation
                }
            },
            "serviceCode": "AmazonEC2",
            "terms": {"OnDemand": {"CZ7P6PCB3F2S3ZRM.JRTCKXETXF": {"priceDimensions": {
                "CZ7P6PCB3F2S3ZRM.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}
            }}}}
        })
        .to_string()
    }

    #[test]
    fn the_plain_linux_product_gives_the_price() {
        let list = [
            product("RunInstances", "0.5260000000"),
            product("RunInstances:0010", "0.6260000000"),
        ];
        assert_eq!(
            hourly_from_price_list(&list, "g4dn.xlarge", "us-east-1"),
            Ok(0.526)
        );
    }

    #[test]
    fn no_product_or_two_prices_are_errors() {
        assert_eq!(
            hourly_from_price_list(&[], "g4dn.xlarge", "us-east-1"),
            Err("no on-demand Linux price for `g4dn.xlarge` in `us-east-1`".into())
        );
        let list = [
            product("RunInstances", "0.5260000000"),
            product("RunInstances", "0.5300000000"),
        ];
        assert!(hourly_from_price_list(&list, "g4dn.xlarge", "us-east-1")
            .unwrap_err()
            .starts_with("2 different on-demand prices"));
    }
}
