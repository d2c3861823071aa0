//! The AWS Price List Query API (AWS Billing User Guide, "Using the AWS Price List Query
//! API"): the price list documents of the products that match a set of filters.

use aws_sdk_pricing::types::{Filter, FilterType};

use super::AwsError;

/// The region the Price List Query API is called in: it is served only in `us-east-1`,
/// `eu-central-1` and `ap-south-1`, whatever region is priced.
pub const PRICE_LIST_REGION: &str = "us-east-1";

/// GetProducts of `service_code` (format `aws_v1`, at most 20 products) for products whose
/// attributes equal `filters` (`TERM_MATCH`): one JSON document per product.
pub async fn get_products(
    client: &aws_sdk_pricing::Client,
    service_code: &str,
    filters: &[(&str, &str)],
) -> Result<Vec<String>, AwsError> {
    let mut request = client
        .get_products()
        .service_code(service_code)
        .format_version("aws_v1")
        .max_results(20);
    for (field, value) in filters {
        request = request.filters(
            Filter::builder()
                .r#type(FilterType::TermMatch)
                .field(*field)
                .value(*value)
                .build()
                .expect("type, field and value are set"),
        );
    }
    let output = request.send().await.map_err(AwsError::from_sdk)?;
    Ok(output.price_list().to_vec())
}
