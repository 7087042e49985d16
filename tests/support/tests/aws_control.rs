//! The AWS test gateway at the HTTP level: its control plane, the `aws-gateway` binary, and the
//! wire shapes of what it forwards or refuses, checked byte by byte rather than through an SDK.
//!
//! Needs moto_server (see `aws_sdk.rs`); the tests fail, not skip, when it is missing.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use ciborium::Value as Cbor;
use eks_ops_testbed::aws::{AwsGateway, Fault, GatewayError, MotoServer, Route, SeedKind};
use serde_json::{Value, json};

const STS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDTESTBED/20240601/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=0";
const CW_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDTESTBED/20240601/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0";

async fn start() -> (MotoServer, AwsGateway) {
    let bin = MotoServer::locate().unwrap_or_else(|e| panic!("these tests need moto: {e}"));
    let moto = MotoServer::spawn(&bin).await.expect("moto_server starts");
    let gateway = AwsGateway::spawn(&moto.url).await.expect("gateway starts");
    (moto, gateway)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

fn map_get<'a>(value: &'a Cbor, key: &str) -> Option<&'a Cbor> {
    value
        .as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

#[tokio::test]
async fn bad_seeds_are_refused_with_the_reason() {
    let (_moto, gateway) = start().await;
    let err = gateway
        .seed(
            SeedKind::Addons,
            &json!({"addons": [{"addonName": "vpc-cni"}]}),
        )
        .await
        .unwrap_err();
    match err {
        GatewayError::Rejected { status, body } => {
            assert_eq!(status, 400);
            assert!(body.contains("addons[0].clusterName"), "{body}");
        }
        other => panic!("unexpected {other}"),
    }
    let response = http()
        .post(format!("{}/_gateway/seed/volcanoes", gateway.url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        response.text().await.unwrap().contains("alarm_history"),
        "lists the known seeds"
    );
    let response = http()
        .post(format!("{}/_gateway/fault", gateway.url()))
        .body(r#"{"service":"eks"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn query_protocol_calls_are_forwarded_and_denied_as_xml() {
    let (_moto, gateway) = start().await;
    let call = || {
        http()
            .post(format!("{}/", gateway.url()))
            .header("authorization", STS_AUTH)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("Action=GetCallerIdentity&Version=2011-06-15")
    };
    let response = call().send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<Account>123456789012</Account>")
    );

    gateway
        .fault(&Fault::access_denied("sts", "GetCallerIdentity"))
        .await
        .unwrap();
    let response = call().send().await.unwrap();
    assert_eq!(response.status(), 403);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("<Code>AccessDenied</Code>") && body.contains("sts:GetCallerIdentity"),
        "{body}"
    );

    let log = gateway.requests().await.unwrap();
    let routes: Vec<(&str, &str, Route)> = log
        .iter()
        .map(|r| (r.service.as_str(), r.operation.as_str(), r.route))
        .collect();
    assert_eq!(
        routes,
        [
            ("sts", "GetCallerIdentity", Route::Moto),
            ("sts", "GetCallerIdentity", Route::Fault)
        ]
    );
}

#[tokio::test]
async fn cbor_bridge_speaks_rpc_v2_on_the_wire() {
    let (_moto, gateway) = start().await;
    let url = format!(
        "{}/service/GraniteServiceVersion20100801/operation/",
        gateway.url()
    );
    let post = |op: &str, body: Vec<u8>| {
        http()
            .post(format!("{url}{op}"))
            .header("authorization", CW_AUTH)
            .header("content-type", "application/cbor")
            .header("smithy-protocol", "rpc-v2-cbor")
            .body(body)
    };
    let now = chrono::Utc::now().timestamp() / 60 * 60 - 120;
    let datum = Cbor::Map(vec![
        (Cbor::Text("MetricName".into()), Cbor::Text("m".into())),
        (
            Cbor::Text("Timestamp".into()),
            Cbor::Tag(1, Box::new(Cbor::Float(now as f64))),
        ),
        (Cbor::Text("Value".into()), Cbor::Float(3.0)),
    ]);
    let put = Cbor::Map(vec![
        (Cbor::Text("Namespace".into()), Cbor::Text("T".into())),
        (Cbor::Text("MetricData".into()), Cbor::Array(vec![datum])),
    ]);
    let response = post("PutMetricData", cbor(&put)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["smithy-protocol"], "rpc-v2-cbor");

    let query = Cbor::Map(vec![
        (
            Cbor::Text("StartTime".into()),
            Cbor::Tag(1, Box::new(Cbor::Integer((now - 600).into()))),
        ),
        (
            Cbor::Text("EndTime".into()),
            Cbor::Tag(1, Box::new(Cbor::Integer((now + 600).into()))),
        ),
        (
            Cbor::Text("MetricDataQueries".into()),
            Cbor::Array(vec![Cbor::Map(vec![
                (Cbor::Text("Id".into()), Cbor::Text("q".into())),
                (
                    Cbor::Text("MetricStat".into()),
                    Cbor::Map(vec![
                        (
                            Cbor::Text("Metric".into()),
                            Cbor::Map(vec![
                                (Cbor::Text("Namespace".into()), Cbor::Text("T".into())),
                                (Cbor::Text("MetricName".into()), Cbor::Text("m".into())),
                            ]),
                        ),
                        (Cbor::Text("Period".into()), Cbor::Integer(60.into())),
                        (Cbor::Text("Stat".into()), Cbor::Text("Sum".into())),
                    ]),
                ),
            ])]),
        ),
    ]);
    let response = post("GetMetricData", cbor(&query)).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/cbor");
    let body: Cbor = ciborium::from_reader(response.bytes().await.unwrap().as_ref()).unwrap();
    let result = &map_get(&body, "MetricDataResults")
        .unwrap()
        .as_array()
        .unwrap()[0];
    let stamps = map_get(result, "Timestamps").unwrap().as_array().unwrap();
    assert_eq!(stamps, &[Cbor::Tag(1, Box::new(Cbor::Float(now as f64)))]);
    let values = map_get(result, "Values").unwrap().as_array().unwrap();
    assert!(
        matches!(values[0], Cbor::Float(v) if v == 3.0),
        "{values:?}"
    );

    let response = post("GetMetricData", vec![0xff, 0x01])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Cbor = ciborium::from_reader(response.bytes().await.unwrap().as_ref()).unwrap();
    assert_eq!(
        map_get(&body, "__type").and_then(Cbor::as_text),
        Some("SerializationException")
    );
}

#[tokio::test]
async fn json_stand_ins_answer_errors_in_json_one_one_shape() {
    let (_moto, gateway) = start().await;
    let response = http()
        .post(format!("{}/", gateway.url()))
        .header("x-amz-target", "AWSPriceListService.GetProducts")
        .header("content-type", "application/x-amz-json-1.1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["__type"], "InvalidParameterException");
    let response = http()
        .post(format!("{}/", gateway.url()))
        .header(
            "x-amz-target",
            "AWSInsightsIndexService.GetCostComparisonDrivers",
        )
        .header("content-type", "application/x-amz-json-1.1")
        .body("not json")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["__type"], "SerializationException");
}

#[tokio::test]
async fn binary_prints_its_address_and_serves() {
    let (moto, _gateway) = start().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_aws-gateway"))
        .args(["--moto", &moto.url, "--port", "0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("aws-gateway runs");
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let health = http()
        .get(format!("http://{addr}/_gateway/health"))
        .send()
        .await
        .map(|r| r.status().as_u16());
    let reset = http()
        .post(format!("http://{addr}/_gateway/reset"))
        .send()
        .await
        .map(|r| r.status().as_u16());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(health.unwrap(), 200);
    assert_eq!(reset.unwrap(), 204);
}
