//! The `kube-standin` binary: its flags, the `listening on` line the CI scripts wait for, the
//! kubeconfig it writes, and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn fixture() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/kube-cluster");
    dir.display().to_string()
}

/// Starts the binary and returns it with the address from its `listening on` line.
fn start(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-standin"))
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    (child, addr)
}

fn stop(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serves_until_sigterm_and_writes_a_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let fixture = fixture();
    let kc = kubeconfig.display().to_string();
    let args = [
        "--bundle",
        &fixture,
        "--kubeconfig-out",
        &kc,
        "--context",
        "prod",
        "--context",
        "dev",
        "--require-token",
        "k8s-aws-v1.*",
    ];
    let (mut child, addr) = start(&args);
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    let doc: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&kubeconfig).unwrap()).unwrap();
    assert_eq!(doc["current-context"], "prod");
    assert_eq!(doc["contexts"][1]["name"], "dev");
    assert_eq!(
        doc["clusters"][0]["cluster"]["server"],
        format!("http://{addr}")
    );
    let token = doc["users"][0]["user"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(token.starts_with("k8s-aws-v1."));

    let http = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/namespaces/shop/pods");
    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let authed = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(authed.status().as_u16(), 200);
    let list: serde_json::Value = authed.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 6);

    assert!(stop(&mut child).success());
}

#[test]
fn a_missing_bundle_exits_non_zero_with_the_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_kube-standin"))
        .args(["--bundle", "/nonexistent/bundle"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/bundle/manifest.yaml"),
        "{stderr}"
    );
}
