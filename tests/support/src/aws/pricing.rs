//! The Price List query API's GetProducts, which moto lacks, served over JSON 1.1
//! (`X-Amz-Target: AWSPriceListService.GetProducts`) from seeded products. As in the real API,
//! each `PriceList` entry is a product document serialised as a JSON string.
//!
//! Filters apply to the product's `attributes` (field names case-insensitive, as AWS treats
//! them), plus `productFamily` and `sku`; values compare case-insensitively. All five filter
//! types are supported: `TERM_MATCH` and `EQUALS` (equal), `CONTAINS`, and `ANY_OF`/`NONE_OF`
//! (comma-separated lists).

use serde_json::{Value, json};

use super::errors::AwsError;
use super::json::{at, list_at, number, str_at};
use super::paging::{PageError, page};

/// Answers GetProducts from `input` (the JSON request body).
pub fn get_products(products: &[Value], input: &Value) -> Result<Value, AwsError> {
    let service =
        str_at(input, &["ServiceCode"]).ok_or_else(|| invalid("ServiceCode is required"))?;
    let filters = list_at(input, &["Filters"]);
    for filter in filters {
        filter_parts(filter)?;
    }
    let matching: Vec<&Value> = products
        .iter()
        .filter(|p| str_at(p, &["serviceCode"]) == Some(service))
        .filter(|p| {
            filters
                .iter()
                .all(|f| filter_parts(f).is_ok_and(|(t, field, value)| passes(p, t, field, value)))
        })
        .collect();
    let size = at(input, &["MaxResults"])
        .and_then(number)
        .map(|n| n as i64);
    if size.is_some_and(|n| n > 100) {
        return Err(invalid("MaxResults must be between 1 and 100"));
    }
    let (rows, next) =
        page(&matching, str_at(input, &["NextToken"]), size, 100).map_err(|e| match e {
            PageError::BadToken => AwsError::bad_request(
                "InvalidNextTokenException",
                "The pagination token is invalid.",
            ),
            PageError::BadSize => invalid("MaxResults must be between 1 and 100"),
        })?;
    let price_list: Vec<String> = rows.iter().map(|p| p.to_string()).collect();
    let mut out = json!({ "FormatVersion": "aws_v1", "PriceList": price_list });
    if let Some(token) = next {
        out["NextToken"] = Value::from(token);
    }
    Ok(out)
}

fn filter_parts(filter: &Value) -> Result<(&str, &str, &str), AwsError> {
    let kind = str_at(filter, &["Type"]).unwrap_or("");
    if !matches!(
        kind,
        "TERM_MATCH" | "EQUALS" | "CONTAINS" | "ANY_OF" | "NONE_OF"
    ) {
        return Err(invalid(&format!("Filter Type {kind:?} is not supported")));
    }
    let field = str_at(filter, &["Field"]).ok_or_else(|| invalid("Filter Field is required"))?;
    let value = str_at(filter, &["Value"]).ok_or_else(|| invalid("Filter Value is required"))?;
    Ok((kind, field, value))
}

fn passes(product: &Value, kind: &str, field: &str, wanted: &str) -> bool {
    let actual = field_value(product, field).map(str::to_lowercase);
    let wanted = wanted.to_lowercase();
    let listed = || {
        wanted
            .split(',')
            .map(str::trim)
            .any(|w| actual.as_deref() == Some(w))
    };
    match kind {
        "CONTAINS" => actual.is_some_and(|a| a.contains(&wanted)),
        "ANY_OF" => listed(),
        "NONE_OF" => !listed(),
        _ => actual.as_deref() == Some(wanted.as_str()),
    }
}

fn field_value<'a>(product: &'a Value, field: &str) -> Option<&'a str> {
    let top = |key: &str| {
        field
            .eq_ignore_ascii_case(key)
            .then(|| str_at(product, &["product", key]))
            .flatten()
    };
    top("productFamily").or_else(|| top("sku")).or_else(|| {
        at(product, &["product", "attributes"])?
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .and_then(|(_, v)| v.as_str())
    })
}

fn invalid(message: &str) -> AwsError {
    AwsError::bad_request("InvalidParameterException", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(sku: &str, instance: &str, region: &str) -> Value {
        json!({"serviceCode": "AmazonEC2", "product": {"sku": sku, "productFamily": "Compute Instance",
               "attributes": {"instanceType": instance, "regionCode": region}}, "terms": {}})
    }

    fn skus(out: &Value) -> Vec<String> {
        list_at(out, &["PriceList"])
            .iter()
            .map(|s| {
                serde_json::from_str::<Value>(s.as_str().unwrap()).unwrap()["product"]["sku"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    fn products() -> Vec<Value> {
        vec![
            product("A", "m5.large", "us-east-1"),
            product("B", "m5.xlarge", "us-east-1"),
            product("C", "m5.large", "eu-west-1"),
            json!({"serviceCode": "AmazonEKS", "product": {"sku": "D", "attributes": {}}}),
        ]
    }

    #[test]
    fn filters_by_attribute_and_type() {
        let p = products();
        let term = json!({"ServiceCode": "AmazonEC2", "Filters": [{"Type": "TERM_MATCH", "Field": "InstanceType", "Value": "m5.large"}]});
        assert_eq!(skus(&get_products(&p, &term).unwrap()), ["A", "C"]);
        let any = json!({"ServiceCode": "AmazonEC2", "Filters": [{"Type": "ANY_OF", "Field": "regionCode", "Value": "eu-west-1, ap-south-1"}]});
        assert_eq!(skus(&get_products(&p, &any).unwrap()), ["C"]);
        let none = json!({"ServiceCode": "AmazonEC2", "Filters": [{"Type": "NONE_OF", "Field": "regionCode", "Value": "eu-west-1"}]});
        assert_eq!(skus(&get_products(&p, &none).unwrap()), ["A", "B"]);
        let contains = json!({"ServiceCode": "AmazonEC2", "Filters": [{"Type": "CONTAINS", "Field": "instanceType", "Value": "XLARGE"}]});
        assert_eq!(skus(&get_products(&p, &contains).unwrap()), ["B"]);
        let sku = json!({"ServiceCode": "AmazonEKS", "Filters": [{"Type": "EQUALS", "Field": "sku", "Value": "d"}]});
        assert_eq!(skus(&get_products(&p, &sku).unwrap()), ["D"]);
    }

    #[test]
    fn pages_and_rejects_bad_requests() {
        let p = products();
        let first =
            get_products(&p, &json!({"ServiceCode": "AmazonEC2", "MaxResults": 2})).unwrap();
        assert_eq!(
            (skus(&first), first["FormatVersion"].as_str()),
            (vec!["A".to_owned(), "B".to_owned()], Some("aws_v1"))
        );
        let rest = get_products(
            &p,
            &json!({"ServiceCode": "AmazonEC2", "NextToken": first["NextToken"]}),
        )
        .unwrap();
        assert_eq!(skus(&rest), ["C"]);
        assert!(get_products(&p, &json!({})).is_err());
        assert!(get_products(&p, &json!({"ServiceCode": "AmazonEC2", "Filters": [{"Type": "REGEX", "Field": "a", "Value": "b"}]})).is_err());
        assert!(
            get_products(&p, &json!({"ServiceCode": "AmazonEC2", "MaxResults": 1000})).is_err()
        );
    }
}
