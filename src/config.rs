//! Settings: flags, environment and an optional TOML file become one validated [`Settings`].
//!
//! Precedence is flag, then environment (`EKS_OPS_*`, handled by clap), then `--config FILE`,
//! then defaults. Building settings does no network or credential look-ups: clients are created
//! on first use, so start-up stays fast and works offline.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

/// Global options shared by every subcommand.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// AWS region (default: the SDK's chain: AWS_REGION, profile, IMDS).
    #[arg(long, global = true, env = "EKS_OPS_REGION")]
    pub region: Option<String>,
    /// AWS shared-config profile.
    #[arg(long, global = true, env = "EKS_OPS_PROFILE")]
    pub profile: Option<String>,
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, env = "EKS_OPS_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Default kubeconfig context.
    #[arg(long, global = true, env = "EKS_OPS_CONTEXT")]
    pub context: Option<String>,
    /// Default EKS cluster name (endpoint and CA come from eks:DescribeCluster).
    #[arg(long, global = true, env = "EKS_OPS_CLUSTER")]
    pub cluster: Option<String>,
    /// Prometheus base URL, e.g. http://prometheus:9090.
    #[arg(long, global = true, env = "EKS_OPS_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,
    /// Amazon Managed Prometheus workspace id (requests are SigV4-signed for `aps`; the
    /// AWS_ENDPOINT_URL_AMP variable replaces `https://aps-workspaces.REGION.amazonaws.com`).
    #[arg(long, global = true, env = "EKS_OPS_AMP_WORKSPACE_ID")]
    pub amp_workspace_id: Option<String>,
    /// Serve every source from a snapshot bundle directory, or `builtin:NAME`.
    #[arg(long, global = true, env = "EKS_OPS_SNAPSHOT")]
    pub snapshot: Option<String>,
    /// Enable tools that change the cluster.
    #[arg(long, global = true, env = "EKS_OPS_ALLOW_WRITE")]
    pub allow_write: bool,
    /// Return Secret values, tokens and credentials unredacted.
    #[arg(long, global = true, env = "EKS_OPS_ALLOW_SENSITIVE_DATA")]
    pub allow_sensitive_data: bool,
    /// Log filter for stderr, e.g. `info` or `eks_ops_mcp=debug`.
    #[arg(long, global = true, env = "EKS_OPS_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// TOML file with any of these settings (keys in kebab-case).
    #[arg(long, global = true, env = "EKS_OPS_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The same settings as read from a TOML file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    region: Option<String>,
    profile: Option<String>,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    cluster: Option<String>,
    prometheus_url: Option<String>,
    amp_workspace_id: Option<String>,
    snapshot: Option<String>,
    allow_write: Option<bool>,
    allow_sensitive_data: Option<bool>,
    log_level: Option<String>,
    call_timeout_secs: Option<u64>,
    allowed_hosts: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
}

/// Where the sources come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceMode {
    /// Live backends: kube, AWS SDK, Prometheus HTTP.
    Live,
    /// A bundle directory on disk.
    SnapshotDir(PathBuf),
    /// A bundle compiled into the binary.
    SnapshotBuiltin(String),
}

/// Validated settings for the whole process.
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub prometheus_url: Option<String>,
    pub amp_workspace_id: Option<String>,
    pub mode: SourceMode,
    pub allow_write: bool,
    pub allow_sensitive_data: bool,
    pub log_level: String,
    /// Upper bound on one tool call, fetching included.
    pub call_timeout_secs: u64,
    /// Extra `Host` values the HTTP transport accepts besides loopback names.
    pub allowed_hosts: Vec<String>,
    /// Browser origins the HTTP transport accepts (none by default).
    pub allowed_origins: Vec<String>,
}

/// The bundle served when nothing live is configured.
pub const DEFAULT_BUILTIN_SNAPSHOT: &str = "checkout-oom";

impl Settings {
    /// Merges flags/env with the optional config file. Reads that file and nothing else.
    pub fn resolve(args: &GlobalArgs) -> anyhow::Result<Settings> {
        let file = match &args.config {
            Some(path) => read_file_settings(path)?,
            None => FileSettings::default(),
        };
        let pick = |a: &Option<String>, f: Option<String>| a.clone().or(f);
        let snapshot = pick(&args.snapshot, file.snapshot);
        let mut settings = Settings {
            region: pick(&args.region, file.region),
            profile: pick(&args.profile, file.profile),
            kubeconfig: args.kubeconfig.clone().or(file.kubeconfig),
            context: pick(&args.context, file.context),
            cluster: pick(&args.cluster, file.cluster),
            prometheus_url: pick(&args.prometheus_url, file.prometheus_url),
            amp_workspace_id: pick(&args.amp_workspace_id, file.amp_workspace_id),
            mode: SourceMode::Live,
            allow_write: args.allow_write || file.allow_write.unwrap_or(false),
            allow_sensitive_data: args.allow_sensitive_data
                || file.allow_sensitive_data.unwrap_or(false),
            log_level: pick(&args.log_level, file.log_level).unwrap_or_else(|| "info".into()),
            call_timeout_secs: file.call_timeout_secs.unwrap_or(60).clamp(1, 900),
            allowed_hosts: file.allowed_hosts.unwrap_or_default(),
            allowed_origins: file.allowed_origins.unwrap_or_default(),
        };
        settings.mode = match snapshot {
            Some(s) => parse_snapshot_arg(&s)?,
            None if settings.has_live_target() || kubeconfig_present() || aws_config_present() => {
                SourceMode::Live
            }
            None => SourceMode::SnapshotBuiltin(DEFAULT_BUILTIN_SNAPSHOT.into()),
        };
        if let Some(url) = &settings.prometheus_url {
            url::Url::parse(url)
                .map_err(|e| anyhow::anyhow!("--prometheus-url `{url}` is not a URL: {e}"))?;
        }
        Ok(settings)
    }

    fn has_live_target(&self) -> bool {
        self.region.is_some()
            || self.profile.is_some()
            || self.kubeconfig.is_some()
            || self.context.is_some()
            || self.cluster.is_some()
            || self.prometheus_url.is_some()
            || self.amp_workspace_id.is_some()
    }
}

fn read_file_settings(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
    parse_file_settings(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
}

fn parse_file_settings(text: &str) -> Result<FileSettings, toml::de::Error> {
    toml::from_str(text)
}

fn parse_snapshot_arg(arg: &str) -> anyhow::Result<SourceMode> {
    if let Some(name) = arg.strip_prefix("builtin:") {
        return Ok(SourceMode::SnapshotBuiltin(name.to_string()));
    }
    let path = PathBuf::from(arg);
    if !path.join("manifest.yaml").is_file() {
        anyhow::bail!(
            "--snapshot {arg}: no manifest.yaml there; pass a bundle directory or builtin:{DEFAULT_BUILTIN_SNAPSHOT}"
        );
    }
    Ok(SourceMode::SnapshotDir(path))
}

/// AWS credentials, a region or a profile in the environment or `~/.aws` mean the operator wants
/// live AWS data, even with no cluster configured (cost and CloudWatch tools alone).
fn aws_config_present() -> bool {
    let env = [
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ];
    if env
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
    {
        return true;
    }
    std::env::var_os("HOME")
        .map(|home| {
            ["config", "credentials"]
                .iter()
                .any(|f| Path::new(&home).join(".aws").join(f).is_file())
        })
        .unwrap_or(false)
}

/// A kubeconfig or in-cluster service account means the operator wants live clusters.
fn kubeconfig_present() -> bool {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return true;
    }
    if let Some(paths) = std::env::var_os("KUBECONFIG") {
        return std::env::split_paths(&paths).any(|p| p.is_file());
    }
    std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".kube/config").is_file())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_settings_reject_unknown_keys() {
        let err = parse_file_settings("regoin = \"eu-west-1\"").unwrap_err();
        assert!(err.to_string().contains("unknown field `regoin`"), "{err}");
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "region = \"us-east-1\"\nprometheus-url = \"http://p:9090\"\ncall-timeout-secs = 5000\n").unwrap();
        let args = GlobalArgs {
            region: Some("eu-west-1".into()),
            config: Some(path),
            ..Default::default()
        };
        let s = Settings::resolve(&args).unwrap();
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.prometheus_url.as_deref(), Some("http://p:9090"));
        assert_eq!(s.call_timeout_secs, 900, "timeout is clamped");
        assert_eq!(s.mode, SourceMode::Live, "a Prometheus URL means live");
    }

    #[test]
    fn snapshot_argument() {
        assert_eq!(
            parse_snapshot_arg("builtin:checkout-oom").unwrap(),
            SourceMode::SnapshotBuiltin("checkout-oom".into())
        );
        assert!(parse_snapshot_arg("/nonexistent").is_err());
    }
}
