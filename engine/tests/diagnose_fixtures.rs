//! Every diagnosis fixture under `tests/fixtures/diagnose/` is a `kubectl get -o json` style
//! List of realistic objects plus what diagnosis must report on it. Each rule has a fixture
//! that contains its fault; `healthy.json` must stay quiet above info.
//!
//! Fixture format: `now` (RFC 3339), optional `scope`, `objects` (a v1 List) and `expect`, a
//! list of findings with `rule`, `severity`, `resource` (`Kind/namespace/name`), optional
//! `owner`, `evidence` (rendered `path=value`, `name=value` or `event Reason xN: message`,
//! where `*` stands for any text), `cause_contains`, `next_tool`
//! (tool plus a subset of its args) and `next_command_contains`.
#![cfg(feature = "k8s")]

use eks_ops_engine::diagnose::{
    ClusterView, DiagnoseOptions, Diagnosis, Evidence, Finding, Rule, Scope, Severity, diagnose,
    next, rfc3339_to_ms,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

struct Fixture {
    name: String,
    doc: Value,
    view: ClusterView,
    scope: Scope,
    options: DiagnoseOptions,
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnose")
}

fn load(path: &Path) -> Fixture {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut view = ClusterView::default();
    view.add_json(doc["objects"].clone())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let now = rfc3339_to_ms(doc["now"].as_str().unwrap()).unwrap();
    let scope = match doc.get("scope") {
        Some(s) => serde_json::from_value(s.clone()).unwrap(),
        None => Scope::Cluster,
    };
    Fixture {
        name,
        doc,
        view,
        scope,
        options: DiagnoseOptions::at(now),
    }
}

fn all_fixtures() -> Vec<Fixture> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load(p)).collect()
}

fn render(e: &Evidence) -> String {
    match e {
        Evidence::Field { path, value } => format!("{path}={value}"),
        Evidence::Derived { name, value } => format!("{name}={value}"),
        Evidence::Event {
            reason,
            message,
            count,
            ..
        } => format!("event {reason} x{count}: {message}"),
    }
}

/// `*` matches any run of characters; everything else must match exactly.
fn matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return text == pattern;
    }
    if text.len() < first.len() + last.len()
        || !text.starts_with(first)
        || !text[first.len()..].ends_with(last)
    {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

fn severity(text: &str) -> Severity {
    serde_json::from_value(Value::String(text.into())).unwrap()
}

/// Checks one expectation against the findings; returns the index of the finding it matched.
fn check_expectation(fx: &Fixture, want: &Value, found: &[Finding]) -> usize {
    let rule = want["rule"].as_str().unwrap();
    let resource = want["resource"].as_str().unwrap();
    let ctx = format!("{}: {rule} on {resource}", fx.name);
    let index = (found.iter())
        .position(|f| f.rule.id() == rule && f.resource.to_string() == resource)
        .unwrap_or_else(|| panic!("{ctx}: not found in {:#?}", summaries(found)));
    let f = &found[index];
    assert_eq!(
        f.severity,
        severity(want["severity"].as_str().unwrap()),
        "{ctx}"
    );
    if let Some(owner) = want.get("owner").and_then(Value::as_str) {
        assert_eq!(
            f.owner.as_ref().map(|o| o.to_string()).as_deref(),
            Some(owner),
            "{ctx}"
        );
    }
    let rendered: Vec<String> = f.evidence.iter().map(render).collect();
    for pattern in want["evidence"].as_array().unwrap() {
        let pattern = pattern.as_str().unwrap();
        assert!(
            rendered.iter().any(|r| matches(pattern, r)),
            "{ctx}: no evidence `{pattern}` in {rendered:#?}"
        );
    }
    if let Some(text) = want.get("cause_contains").and_then(Value::as_str) {
        assert!(
            f.cause.contains(text),
            "{ctx}: cause `{}` lacks `{text}`",
            f.cause
        );
    }
    assert!(!f.summary.is_empty() && !f.next_steps.is_empty(), "{ctx}");
    check_next_steps(&ctx, want, f);
    index
}

fn check_next_steps(ctx: &str, want: &Value, f: &Finding) {
    if let Some(step) = want.get("next_tool") {
        let tool = step["tool"].as_str().unwrap();
        let args = step["args"].as_object().unwrap();
        let hit = f.next_steps.iter().any(|s| {
            s.tool.as_deref() == Some(tool) && args.iter().all(|(k, v)| s.args.get(k) == Some(v))
        });
        assert!(hit, "{ctx}: no step {step} in {:#?}", f.next_steps);
    }
    if let Some(text) = want.get("next_command_contains").and_then(Value::as_str) {
        let hit = f.next_steps.iter().any(|s| s.command.contains(text));
        assert!(
            hit,
            "{ctx}: no command with `{text}` in {:#?}",
            f.next_steps
        );
    }
    for s in &f.next_steps {
        let known = s.tool.as_deref().is_none_or(|t| next::TOOLS.contains(&t));
        assert!(
            known && !s.command.is_empty() && !s.why.is_empty(),
            "{ctx}: {s:?}"
        );
    }
}

fn summaries(found: &[Finding]) -> Vec<String> {
    (found.iter())
        .map(|f| format!("{:?} {} {} — {}", f.severity, f.rule, f.resource, f.summary))
        .collect()
}

fn run(fx: &Fixture) -> Diagnosis {
    diagnose(&fx.view, &fx.scope, &fx.options)
}

#[test]
fn each_fixture_reports_exactly_its_faults() {
    for fx in all_fixtures() {
        let result = run(&fx);
        let expected = fx.doc["expect"].as_array().unwrap();
        let matched: BTreeSet<usize> = (expected.iter())
            .map(|want| check_expectation(&fx, want, &result.findings))
            .collect();
        assert_eq!(
            matched.len(),
            expected.len(),
            "{}: two expectations matched one finding",
            fx.name
        );
        let unexpected: Vec<&Finding> = (result.findings.iter().enumerate())
            .filter(|(i, f)| f.severity <= Severity::Warning && !matched.contains(i))
            .map(|(_, f)| f)
            .collect();
        assert!(
            unexpected.is_empty(),
            "{}: unexpected findings {:#?}",
            fx.name,
            summaries(&result.findings)
        );
    }
}

#[test]
fn every_rule_has_a_fixture_that_fires_it() {
    let covered: BTreeSet<String> = (all_fixtures().iter())
        .flat_map(|fx| fx.doc["expect"].as_array().unwrap().clone())
        .map(|want| want["rule"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<&str> = (Rule::ALL.iter())
        .map(|r| r.id())
        .filter(|id| !covered.contains(*id))
        .collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn the_healthy_cluster_is_quiet() {
    let fx = load(&fixture_dir().join("healthy.json"));
    let result = run(&fx);
    assert!(!result.has_problems(), "{:#?}", summaries(&result.findings));
    assert!(result.notes.is_empty(), "{:?}", result.notes);
    assert!(result.scanned["Pod"] >= 10 && result.scanned["Event"] >= 8);
    // The unused WaitForFirstConsumer claim is worth an info line, nothing more.
    let infos: Vec<&str> = result.findings.iter().map(|f| f.rule.id()).collect();
    assert_eq!(infos, ["pvc.pending"]);
}

#[test]
fn output_does_not_depend_on_input_order() {
    for fx in all_fixtures() {
        let mut reversed = fx.doc["objects"].clone();
        reversed["items"].as_array_mut().unwrap().reverse();
        let mut view = ClusterView::default();
        view.add_json(reversed).unwrap();
        let a = serde_json::to_value(run(&fx).findings).unwrap();
        let b = serde_json::to_value(diagnose(&view, &fx.scope, &fx.options).findings).unwrap();
        assert_eq!(a, b, "{}", fx.name);
    }
}

#[test]
fn findings_are_sorted_by_severity_then_resource() {
    let mut view = ClusterView::default();
    let mut now = 0;
    for fx in all_fixtures() {
        view.add_json(fx.doc["objects"].clone()).unwrap();
        now = fx.options.now_ms;
    }
    let result = diagnose(&view, &Scope::Cluster, &DiagnoseOptions::at(now));
    let keys: Vec<_> = (result.findings.iter())
        .map(|f| (f.severity, f.resource.clone(), f.rule.id()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(
        result.by_severity.values().sum::<usize>(),
        result.findings.len()
    );
}

#[test]
fn events_outside_the_window_are_history() {
    let fx = load(&fixture_dir().join("crash_loop.json"));
    let later = DiagnoseOptions::at(fx.options.now_ms + 3 * 3_600_000);
    let result = diagnose(&fx.view, &fx.scope, &later);
    let crash = (result.findings.iter())
        .find(|f| f.rule == Rule::PodCrashLoop)
        .unwrap();
    assert!(
        !crash
            .evidence
            .iter()
            .any(|e| matches!(e, Evidence::Event { .. })),
        "{:#?}",
        crash.evidence
    );
}
