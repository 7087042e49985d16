//! Reading a snapshot bundle from disk: manifest, object streams, events, container logs and the
//! optional `rbac-deny.yaml`.
//!
//! This module only reads and parses; typing the objects and indexing them for queries is the
//! store's job, so a bundle can be inspected (e.g. for its cluster name) without serving it.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::StandinError;
use super::rbac::{DenyFile, DenyRule};

/// The directory name that holds cluster-scoped kinds under `objects/`.
const CLUSTER_DIR: &str = "_cluster";

/// A snapshot bundle read from disk, not yet indexed.
#[derive(Debug, Clone)]
pub struct Bundle {
    dir: PathBuf,
    cluster: String,
    captured_at: DateTime<Utc>,
    /// Objects with the file each came from, for error messages.
    pub(super) objects: Vec<(PathBuf, Value)>,
    pub(super) events: Vec<(PathBuf, Value)>,
    pub(super) logs: Vec<LogFile>,
    pub(super) deny: DenyFile,
}

/// One container log file: `logs/<ns>/<pod>/<container>[.previous].log`.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    pub text: String,
}

#[derive(Deserialize)]
struct Manifest {
    cluster: String,
    captured_at: String,
}

impl Bundle {
    /// Reads every part of the bundle the Kubernetes API serves; metrics, cost and CloudWatch
    /// files are left to their own stand-ins.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, StandinError> {
        let dir = dir.as_ref().to_path_buf();
        let manifest_path = dir.join("manifest.yaml");
        let manifest: Manifest = parse_yaml(&manifest_path, &read(&manifest_path)?)?;
        let captured_at = DateTime::parse_from_rfc3339(&manifest.captured_at)
            .map_err(|e| parse_error(&manifest_path, format!("captured_at: {e}")))?
            .with_timezone(&Utc);
        Ok(Self {
            objects: load_objects(&dir.join("objects"))?,
            events: load_events(&dir.join("events"))?,
            logs: load_logs(&dir.join("logs"))?,
            deny: load_deny(&dir.join("rbac-deny.yaml"))?,
            cluster: manifest.cluster,
            captured_at,
            dir,
        })
    }

    /// The cluster name from the manifest.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// When the bundle was captured: the stand-in's default "now".
    pub fn captured_at(&self) -> DateTime<Utc> {
        self.captured_at
    }

    /// The directory the bundle was read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The deny rules from `rbac-deny.yaml` (empty when the file is absent).
    pub fn deny_rules(&self) -> &[DenyRule] {
        &self.deny.deny
    }
}

fn read(path: &Path) -> Result<String, StandinError> {
    fs::read_to_string(path).map_err(|source| StandinError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_error(path: &Path, message: impl Into<String>) -> StandinError {
    StandinError::Parse {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn parse_yaml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, StandinError> {
    serde_yaml::from_str(text).map_err(|e| parse_error(path, e.to_string()))
}

/// Every non-empty document of a YAML stream, as JSON values.
fn parse_stream(path: &Path, text: &str) -> Result<Vec<Value>, StandinError> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).map_err(|e| parse_error(path, e.to_string()))?;
        if !value.is_null() {
            out.push(value);
        }
    }
    Ok(out)
}

/// Sorted entries of a directory; a missing directory is an empty bundle part.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, StandinError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let read_dir = fs::read_dir(dir).map_err(|source| StandinError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = read_dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

fn file_stem(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

fn load_objects(root: &Path) -> Result<Vec<(PathBuf, Value)>, StandinError> {
    let mut out = Vec::new();
    for ns_dir in entries(root)?.into_iter().filter(|p| p.is_dir()) {
        let ns_name = file_stem(&ns_dir);
        let namespace = (ns_name != CLUSTER_DIR).then_some(ns_name.as_str());
        for file in entries(&ns_dir)?.into_iter().filter(|p| is_yaml(p)) {
            for mut obj in parse_stream(&file, &read(&file)?)? {
                place_in_namespace(&file, &mut obj, namespace)?;
                out.push((file.clone(), obj));
            }
        }
    }
    Ok(out)
}

/// Checks an object sits in the directory of its namespace, filling the namespace in when the
/// file omits it (hand-written bundles often do).
fn place_in_namespace(
    path: &Path,
    obj: &mut Value,
    namespace: Option<&str>,
) -> Result<(), StandinError> {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return Err(parse_error(path, "an object has no metadata"));
    };
    if meta.get("name").and_then(Value::as_str).is_none() {
        return Err(parse_error(path, "an object has no metadata.name"));
    }
    let declared = meta.get("namespace").and_then(Value::as_str);
    match (namespace, declared) {
        (Some(dir), Some(ns)) if dir != ns => Err(parse_error(
            path,
            format!("object in namespace {ns} is filed under {dir}"),
        )),
        (None, Some(ns)) => Err(parse_error(
            path,
            format!("namespaced object (namespace {ns}) is filed under _cluster"),
        )),
        (Some(dir), None) => {
            meta.insert("namespace".into(), Value::String(dir.to_string()));
            Ok(())
        }
        _ => Ok(()),
    }
}

fn load_events(root: &Path) -> Result<Vec<(PathBuf, Value)>, StandinError> {
    let mut out = Vec::new();
    for file in entries(root)?.into_iter().filter(|p| is_yaml(p)) {
        let ns = file
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string);
        for mut event in parse_stream(&file, &read(&file)?)? {
            place_in_namespace(&file, &mut event, ns.as_deref())?;
            out.push((file.clone(), event));
        }
    }
    Ok(out)
}

fn load_logs(root: &Path) -> Result<Vec<LogFile>, StandinError> {
    let mut out = Vec::new();
    for ns_dir in entries(root)?.into_iter().filter(|p| p.is_dir()) {
        for pod_dir in entries(&ns_dir)?.into_iter().filter(|p| p.is_dir()) {
            for file in entries(&pod_dir)? {
                let Some(name) = file_stem(&file).strip_suffix(".log").map(str::to_string) else {
                    continue;
                };
                let (container, previous) = match name.strip_suffix(".previous") {
                    Some(c) => (c.to_string(), true),
                    None => (name, false),
                };
                out.push(LogFile {
                    namespace: file_stem(&ns_dir),
                    pod: file_stem(&pod_dir),
                    container,
                    previous,
                    text: read(&file)?,
                });
            }
        }
    }
    Ok(out)
}

fn load_deny(path: &Path) -> Result<DenyFile, StandinError> {
    if !path.is_file() {
        return Ok(DenyFile::default());
    }
    parse_yaml(path, &read(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn namespace_is_filled_in_and_checked() {
        let path = Path::new("objects/shop/Pod.yaml");
        let mut obj = json!({"metadata": {"name": "a"}});
        place_in_namespace(path, &mut obj, Some("shop")).unwrap();
        assert_eq!(obj["metadata"]["namespace"], "shop");

        let mut wrong = json!({"metadata": {"name": "a", "namespace": "payments"}});
        assert!(place_in_namespace(path, &mut wrong, Some("shop")).is_err());
        let mut nameless = json!({"metadata": {}});
        assert!(place_in_namespace(path, &mut nameless, Some("shop")).is_err());
    }

    #[test]
    fn streams_skip_empty_documents() {
        let text = "---\na: 1\n---\n---\nb: 2\n";
        let docs = parse_stream(Path::new("x.yaml"), text).unwrap();
        assert_eq!(docs.len(), 2);
    }
}
