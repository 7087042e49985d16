//! Helpers shared by the integration tests: calling a tool in-process or through the real
//! binary, and finding the components `tests/run.sh` started.

#![allow(dead_code)]

use std::process::Stdio;
use std::sync::Arc;

use eks_ops_mcp::tools::{Context, Registry};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// A tool's answer: error flag, the text the model reads, the structured content.
#[derive(Debug)]
pub struct Answer {
    pub is_error: bool,
    pub text: String,
    pub data: Value,
}

/// Calls a tool in-process.
pub async fn call(ctx: &Arc<Context>, tool: &str, args: Value) -> Answer {
    let Value::Object(args) = args else {
        panic!("args must be an object")
    };
    let result = Registry::new()
        .call(ctx.clone(), tool, Some(args), CancellationToken::new())
        .await
        .expect("known tool");
    let text = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    Answer {
        is_error: result.is_error.unwrap_or(false),
        text,
        data: result.structured_content.unwrap_or(Value::Null),
    }
}

/// Runs `eks-ops-mcp [global] call TOOL --args JSON --json` with a clean environment plus `env`.
/// Structured output comes back on success (exit 0), the error text on a tool error (exit 2).
pub async fn call_cli(global: &[&str], env: &[(&str, String)], tool: &str, args: Value) -> Answer {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_eks-ops-mcp"));
    cmd.env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Never let the SDK look for an instance role on the network.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(global)
        .args(["call", tool, "--json", "--args", &args.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("the CLI finished within 60 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 2,
        "exit {code}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = if code == 0 {
        serde_json::from_str(&stdout).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    Answer {
        is_error: code == 2,
        text: stdout,
        data,
    }
}

/// An environment variable `tests/run.sh` sets; fails with a clear message when it is missing.
pub fn component(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the integration tests through tests/run.sh, which starts moto, the AWS gateway and Prometheus"))
}

/// An SDK config for the test gateway: fixed test credentials, no retries.
pub async fn gateway_sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// The environment that points the server binary at the test gateway.
pub fn gateway_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        // moto answers an unimplemented operation with 500, which the SDK would retry.
        ("AWS_MAX_ATTEMPTS", "1".into()),
    ]
}

/// moto and the AWS test gateway in front of it, started for one test; both stop when dropped.
pub async fn moto_and_gateway() -> (
    eks_ops_testbed::aws::MotoServer,
    eks_ops_testbed::aws::AwsGateway,
) {
    use eks_ops_testbed::aws::{AwsGateway, MotoServer};
    let moto =
        MotoServer::spawn(MotoServer::locate().expect("moto_server (tests/run.sh installs it)"))
            .await
            .expect("moto starts");
    let gateway = AwsGateway::spawn(&moto.url).await.expect("gateway starts");
    (moto, gateway)
}
