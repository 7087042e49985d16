//! The served tool catalog against the snapshots in `tools/`: one file per tool, sorted keys.
//! A mismatch fails with a diff-friendly message; `UPDATE_TOOLS=1 cargo test --test catalog`
//! rewrites the files. Also checks names, annotations and the size of what tools/list costs.

use std::collections::BTreeSet;
use std::path::PathBuf;

use eks_ops_mcp::config::{GlobalArgs, Settings};
use eks_ops_mcp::tools::{Registry, catalog_json};
use serde_json::Value;

fn settings() -> Settings {
    Settings::resolve(&GlobalArgs {
        snapshot: Some("builtin:checkout-oom".into()),
        ..Default::default()
    })
    .unwrap()
}

fn tools_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools")
}

fn sorted(v: &Value) -> String {
    // serde_json's map is a BTreeMap here, so keys come out sorted.
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

#[test]
fn served_catalog_matches_tools_dir() {
    let catalog = catalog_json(&Registry::new(), &settings());
    let update = std::env::var_os("UPDATE_TOOLS").is_some();
    let mut served = BTreeSet::new();
    let mut mismatches = Vec::new();
    for tool in &catalog {
        let name = tool["name"].as_str().unwrap().to_string();
        let path = tools_dir().join(format!("{name}.json"));
        let want = sorted(tool);
        served.insert(format!("{name}.json"));
        if update {
            std::fs::create_dir_all(tools_dir()).unwrap();
            std::fs::write(&path, &want).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(have) if have == want => {}
            Ok(have) => mismatches.push(format!("{name}: tools/{name}.json differs from the served tool\n--- file\n{have}\n--- served\n{want}")),
            Err(_) => mismatches.push(format!("{name}: tools/{name}.json is missing")),
        }
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(tools_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    for stale in on_disk.difference(&served) {
        if update {
            std::fs::remove_file(tools_dir().join(stale)).unwrap();
        } else {
            mismatches.push(format!("tools/{stale} has no served tool"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}\n(run UPDATE_TOOLS=1 cargo test --test catalog to accept)",
        mismatches.join("\n")
    );
}

#[test]
fn names_follow_family_verb_and_hints_are_all_set() {
    let families = [
        "k8s",
        "eks",
        "cloudwatch",
        "prometheus",
        "anomaly",
        "incident",
        "cost",
    ];
    for tool in catalog_json(&Registry::new(), &settings()) {
        let name = tool["name"].as_str().unwrap();
        let (family, verb) = name
            .split_once('_')
            .unwrap_or_else(|| panic!("{name} is not family_verb"));
        assert!(
            families.contains(&family) && !verb.is_empty(),
            "{name}: family must be one of {families:?}"
        );
        let ann = &tool["annotations"];
        for hint in [
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        ] {
            assert!(ann[hint].is_boolean(), "{name}: {hint} unset");
        }
        assert!(
            tool["outputSchema"]["type"] == "object",
            "{name}: output schema must be an object"
        );
        let desc = tool["description"].as_str().unwrap();
        assert!(
            desc.len() <= 400,
            "{name}: description is {} bytes; keep it under 400",
            desc.len()
        );
    }
}

#[test]
fn catalog_stays_lean() {
    let catalog = catalog_json(&Registry::new(), &settings());
    let bytes = serde_json::to_vec(&catalog).unwrap().len();
    let per_tool = bytes / catalog.len();
    // awslabs' EKS server spends ~3 KB per tool, the Go Kubernetes server ~1.3 KB.
    assert!(
        per_tool <= 2_100,
        "tools/list costs {per_tool} bytes per tool ({bytes} in all)"
    );
    eprintln!(
        "tools/list: {} tools, {bytes} bytes, {per_tool} per tool",
        catalog.len()
    );
}

#[test]
fn readme_catalog_lists_every_tool() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    for tool in catalog_json(&Registry::new(), &settings()) {
        let name = tool["name"].as_str().unwrap();
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "README.md's tool catalog lacks {name}"
        );
    }
}
