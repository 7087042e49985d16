//! Writing a kubeconfig that points clients (kube-rs, kubectl) at a running stand-in.
//!
//! Every context gets its own cluster entry so per-context client caches see distinct clusters,
//! while all of them reach the same server with the same static-token user.

use serde_json::json;

/// The user entry every context shares.
const USER: &str = "kube-standin";

/// A kubeconfig document for `server` with one context per name; the first is current.
pub fn render(server: &str, token: &str, contexts: &[&str]) -> String {
    let clusters: Vec<_> = contexts
        .iter()
        .map(|c| json!({"name": c, "cluster": {"server": server}}))
        .collect();
    let entries: Vec<_> = contexts
        .iter()
        .map(|c| json!({"name": c, "context": {"cluster": c, "user": USER}}))
        .collect();
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": clusters,
        "users": [{"name": USER, "user": {"token": token}}],
        "contexts": entries,
        "current-context": contexts.first().copied().unwrap_or_default(),
    });
    serde_yaml::to_string(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_share_the_server_and_user() {
        let text = render("http://127.0.0.1:8080", "t0k", &["prod", "staging"]);
        let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(doc["current-context"], "prod");
        assert_eq!(
            doc["clusters"][1]["cluster"]["server"],
            "http://127.0.0.1:8080"
        );
        assert_eq!(doc["contexts"][1]["context"]["user"], USER);
        assert_eq!(doc["users"][0]["user"]["token"], "t0k");
    }
}
