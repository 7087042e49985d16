//! Rules over container states: CrashLoopBackOff, OOMKilled, image pull failures and
//! CreateContainerConfigError. Each reads one container status plus the pod's events.

use super::context::*;
use super::finding::{Evidence, Finding, NextStep, Rule, Severity};
use super::next;
use k8s_openapi::api::core::v1::{
    ContainerStateTerminated, ContainerStatus, EnvFromSource, EnvVar, Event, Pod, Volume,
};
use regex::Regex;
use std::sync::LazyLock;

/// One container status, with the pod and its events, as the rules below read it.
struct Status<'p> {
    pod: &'p Pod,
    cs: &'p ContainerStatus,
    /// `containerStatuses` or `initContainerStatuses`.
    list: &'static str,
    events: &'p [&'p Event],
}

impl Status<'_> {
    /// `status.containerStatuses[name]`, the prefix of this container's evidence paths.
    fn path(&self) -> String {
        format!("status.{}[name={}]", self.list, self.cs.name)
    }
}

pub(super) fn check(ctx: &Ctx, pod: &Pod, events: &[&Event], out: &mut Vec<Finding>) {
    let Some(status) = pod.status.as_ref() else {
        return;
    };
    let lists = [
        ("initContainerStatuses", &status.init_container_statuses),
        ("containerStatuses", &status.container_statuses),
    ];
    for (list, statuses) in lists {
        for cs in statuses.iter().flatten() {
            let s = Status {
                pod,
                cs,
                list,
                events,
            };
            out.extend(crash_loop(ctx, &s));
            out.extend(oom_killed(ctx, &s));
            out.extend(image_pull(ctx, &s));
            out.extend(config_error(ctx, &s));
        }
    }
}

fn waiting_reason(cs: &ContainerStatus) -> Option<(&str, &str)> {
    let waiting = cs.state.as_ref()?.waiting.as_ref()?;
    Some((
        waiting.reason.as_deref()?,
        waiting.message.as_deref().unwrap_or(""),
    ))
}

fn last_terminated(cs: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    cs.last_state.as_ref()?.terminated.as_ref()
}

fn base(ctx: &Ctx, s: &Status, rule: Rule, severity: Severity) -> Finding {
    Finding::new(rule, severity, pod_ref(s.pod)).owner(ctx.top_owner(&s.pod.metadata))
}

fn logs_step(s: &Status, previous: bool, why: &str) -> NextStep {
    let (ns, pod) = (ns(&s.pod.metadata), name(&s.pod.metadata));
    next::pod_logs(ns, pod, &s.cs.name, previous, why)
}

fn crash_loop(ctx: &Ctx, s: &Status) -> Option<Finding> {
    let (waiting, waiting_message) =
        waiting_reason(s.cs).filter(|(r, _)| *r == "CrashLoopBackOff")?;
    let cs = s.cs;
    let events = s.events;
    let probe_kills = events.iter().any(|e| is_probe_kill(e));
    let last = last_terminated(cs);
    let mut f = base(ctx, s, Rule::PodCrashLoop, Severity::Critical)
        .summary(format!(
            "container {} is in CrashLoopBackOff after {} restarts",
            cs.name, cs.restart_count
        ))
        .field(format!("{}.state.waiting.reason", s.path()), waiting)
        .field(
            format!("{}.state.waiting.message", s.path()),
            clip(waiting_message, 300),
        )
        .field(format!("{}.restartCount", s.path()), cs.restart_count);
    if let Some(t) = last {
        f = termination_evidence(f, &format!("{}.lastState.terminated", s.path()), t);
    }
    if let Some(rate) = restarts_per_hour(ctx, s.pod, cs.restart_count) {
        f = f.derived("restarts_per_hour", format!("{rate:.1}"));
    }
    let relevant = events
        .iter()
        .copied()
        .filter(|e| reason(e) == "BackOff" || is_probe_kill(e));
    f.evidence(event_evidence(relevant, 3))
        .cause(exit_cause(last, probe_kills))
        .step(logs_step(
            s,
            true,
            "the output of the crashed instance, which shows why it exited",
        ))
        .step(next::describe(
            "Pod",
            Some(ns(&s.pod.metadata)),
            name(&s.pod.metadata),
            "the full container state, command and probes",
        ))
        .into()
}

fn is_probe_kill(e: &Event) -> bool {
    reason(e) == "Killing" && message(e).contains("liveness")
}

fn termination_evidence(mut f: Finding, path: &str, t: &ContainerStateTerminated) -> Finding {
    f = f
        .field_opt(format!("{path}.reason"), t.reason.as_deref())
        .field(format!("{path}.exitCode"), t.exit_code)
        .field_opt(format!("{path}.signal"), t.signal)
        .field_opt(
            format!("{path}.finishedAt"),
            t.finished_at.as_ref().map(time_text),
        );
    let message = t.message.as_deref().filter(|m| !m.is_empty());
    f.field_opt(format!("{path}.message"), message.map(|m| clip(m, 300)))
}

/// Restarts divided by the time since the pod started; `None` without a start time.
fn restarts_per_hour(ctx: &Ctx, pod: &Pod, restarts: i32) -> Option<f64> {
    let started = pod.status.as_ref()?.start_time.as_ref()?;
    // A floor of one minute keeps a just-started pod from reporting thousands per hour.
    let hours = (ctx.age_ms(started).max(60_000)) as f64 / 3_600_000.0;
    Some(f64::from(restarts.max(0)) / hours)
}

/// What the last exit says about the crash, in the order operators check it.
fn exit_cause(last: Option<&ContainerStateTerminated>, probe_kills: bool) -> String {
    let Some(t) = last else {
        return "the container keeps exiting; no previous termination is recorded yet".into();
    };
    let code = t.exit_code;
    let reason = t.reason.as_deref().unwrap_or("");
    let signal = t.signal.unwrap_or(if code > 128 { code - 128 } else { 0 });
    match (reason, code, signal) {
        ("OOMKilled", _, _) => "the container exceeded its memory limit and was OOMKilled (see the pod.oom_killed finding)".into(),
        (_, _, _) if probe_kills => "the kubelet restarts it because its liveness probe fails (see the pod.liveness_probe_failing finding)".into(),
        ("ContainerCannotRun" | "StartError", _, _) => format!("the runtime could not start the process: {}", t.message.as_deref().unwrap_or(reason)),
        (_, 0, _) => "the main process exits with code 0, so it ends instead of running as a server; check the command and args".into(),
        (_, 126, _) => "exit code 126: the command is not executable (permissions or wrong entrypoint)".into(),
        (_, 127, _) => "exit code 127: the command was not found in the image (wrong entrypoint or image)".into(),
        (_, _, 9) => format!("killed with SIGKILL (exit {code}): memory pressure outside the container limit, or killed from outside"),
        (_, _, 11) => format!("segmentation fault (exit {code}) in the application"),
        (_, _, 15) => format!("stopped with SIGTERM (exit {code}) and restarted: a shutdown the application treats as fatal"),
        _ => format!("the application exits with code {code} ({}): its previous log shows the error", if reason.is_empty() { "Error" } else { reason }),
    }
}

fn oom_killed(ctx: &Ctx, s: &Status) -> Option<Finding> {
    let current = s.cs.state.as_ref().and_then(|st| st.terminated.as_ref());
    let (path, t) = [
        ("state.terminated", current),
        ("lastState.terminated", last_terminated(s.cs)),
    ]
    .into_iter()
    .find_map(|(p, t)| {
        t.filter(|t| t.reason.as_deref() == Some("OOMKilled"))
            .map(|t| (p, t))
    })?;
    let recent = t
        .finished_at
        .as_ref()
        .is_none_or(|at| ctx.within_window(at));
    let severity = if recent {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let spec = container_spec(s.pod, &s.cs.name);
    let limit = spec.and_then(|c| container_resource(c, "limits", "memory"));
    let request = spec.and_then(|c| container_resource(c, "requests", "memory"));
    let spec_path = format!("spec.containers[name={}].resources", s.cs.name);
    let cause = match limit {
        Some(l) => format!("the container's memory use reached its limit of {l}; the kernel killed it"),
        None => "no memory limit is set: the node ran out of memory and the kernel picked this container".into(),
    };
    let f = base(ctx, s, Rule::PodOomKilled, severity)
        .summary(format!(
            "container {} was OOMKilled (memory limit {})",
            s.cs.name,
            limit.unwrap_or("not set")
        ))
        .field(format!("{}.restartCount", s.path()), s.cs.restart_count);
    termination_evidence(f, &format!("{}.{path}", s.path()), t)
        .field(
            format!("{spec_path}.limits.memory"),
            limit.unwrap_or("not set"),
        )
        .field(
            format!("{spec_path}.requests.memory"),
            request.unwrap_or("not set"),
        )
        .cause(cause)
        .step(next::pod_metrics(
            ns(&s.pod.metadata),
            name(&s.pod.metadata),
            &["memory_working_set_bytes", "memory_limit_bytes"],
            "whether memory grows steadily (a leak) or spikes with load",
        ))
        .step(logs_step(
            s,
            true,
            "what the process was doing when it was killed",
        ))
        .into()
}

const PULL_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
];

fn image_pull(ctx: &Ctx, s: &Status) -> Option<Finding> {
    let (waiting, waiting_message) =
        waiting_reason(s.cs).filter(|(r, _)| PULL_REASONS.contains(r))?;
    let image = container_spec(s.pod, &s.cs.name)
        .and_then(|c| c.image.as_deref())
        .unwrap_or(&s.cs.image);
    let events = s.events;
    // The kubelet's "Error: ErrImagePull" echoes carry no registry message.
    let pulls: Vec<&Event> = (events.iter().copied())
        .filter(|e| !message(e).starts_with("Error: "))
        .filter(|e| message(e).contains(image) || message(e).to_lowercase().contains("pull"))
        .collect();
    let texts: Vec<&str> = pulls
        .iter()
        .map(|e| message(e))
        .chain([waiting_message])
        .collect();
    let registry = registry_of(image);
    base(ctx, s, Rule::PodImagePull, Severity::Critical)
        .summary(format!("image {image} cannot be pulled ({waiting})"))
        .field(format!("spec.containers[name={}].image", s.cs.name), image)
        .field(format!("{}.state.waiting.reason", s.path()), waiting)
        .field(
            format!("{}.state.waiting.message", s.path()),
            clip(waiting_message, 300),
        )
        .derived("registry", registry)
        .evidence(event_evidence(pulls, 3))
        .cause(pull_cause(&texts, image, registry))
        .step(next::events(
            "Pod",
            Some(ns(&s.pod.metadata)),
            name(&s.pod.metadata),
            "the registry's exact answer on each pull attempt",
        ))
        .step(pull_check(image, registry))
        .into()
}

/// The registry host of an image reference; Docker Hub when the first part is not a host.
fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((host, _)) if host.contains(['.', ':']) || host == "localhost" => host,
        _ => "docker.io",
    }
}

fn pull_cause(texts: &[&str], image: &str, registry: &str) -> String {
    let all = texts.join("\n").to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| all.contains(w));
    let ecr = registry.contains(".dkr.ecr.");
    if has(&["not found", "manifest unknown", "does not exist"])
        && !has(&["authorization", "unauthorized", "403"])
    {
        format!(
            "the tag or repository of {image} does not exist in {registry}: a typo, or the image was never pushed"
        )
    } else if has(&[
        "unauthorized",
        "authorization",
        "401",
        "403",
        "denied",
        "no basic auth",
    ]) {
        if ecr {
            format!(
                "{registry} refused the node's credentials: the node role lacks ecr:GetAuthorizationToken/ecr:BatchGetImage (AmazonEC2ContainerRegistryReadOnly), or the repository policy does not allow this account"
            )
        } else {
            format!(
                "{registry} requires credentials the pod does not have: add or fix imagePullSecrets"
            )
        }
    } else if has(&["toomanyrequests", "rate limit"]) {
        format!(
            "{registry} is rate-limiting pulls: mirror the image to ECR or use authenticated pulls"
        )
    } else if has(&[
        "i/o timeout",
        "no such host",
        "dial tcp",
        "connection refused",
        "tls handshake",
    ]) {
        format!(
            "the node cannot reach {registry}: check NAT gateway or VPC endpoints (ecr.api, ecr.dkr, s3) and DNS"
        )
    } else if has(&["invalidimagename", "invalid reference format"]) {
        format!("the image reference {image} is malformed")
    } else {
        format!(
            "the pull of {image} from {registry} fails; the events carry the registry's message"
        )
    }
}

fn pull_check(image: &str, registry: &str) -> NextStep {
    let (repo, tag) = split_image(image);
    if registry.contains(".dkr.ecr.") {
        let region = registry.split('.').nth(3).unwrap_or("REGION");
        next::command(
            format!(
                "aws ecr describe-images --region {region} --repository-name {repo} --image-ids imageTag={tag}"
            ),
            "whether the tag exists in ECR and this account can read it",
        )
    } else {
        next::command(
            format!("crane manifest {image}"),
            "whether the tag exists and the registry answers",
        )
    }
}

/// (repository path without the registry, tag) of an image reference.
fn split_image(image: &str) -> (&str, &str) {
    let path = match image.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => rest,
        _ => image,
    };
    let path = path.split('@').next().unwrap_or(path);
    match path.rsplit_once(':') {
        Some((repo, tag)) => (repo, tag),
        None => (path, "latest"),
    }
}

static MISSING_OBJECT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(configmap|secret) "([^"]+)" not found"#).expect("valid regex"));
static MISSING_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"couldn't find key (\S+) in (ConfigMap|Secret) ([^/\s]+)/(\S+)")
        .expect("valid regex")
});

/// What a CreateContainerConfigError message says is missing: (kind, name, key).
fn missing_reference(message: &str) -> Option<(&'static str, String, Option<String>)> {
    let kind = |k: &str| {
        if k.eq_ignore_ascii_case("secret") {
            "Secret"
        } else {
            "ConfigMap"
        }
    };
    if let Some(c) = MISSING_KEY.captures(message) {
        return Some((kind(&c[2]), c[4].to_string(), Some(c[1].to_string())));
    }
    let c = MISSING_OBJECT.captures(message)?;
    Some((kind(&c[1]), c[2].to_string(), None))
}

fn config_error(ctx: &Ctx, s: &Status) -> Option<Finding> {
    let (reason, message) =
        waiting_reason(s.cs).filter(|(r, _)| *r == "CreateContainerConfigError")?;
    let namespace = ns(&s.pod.metadata);
    let f = base(ctx, s, Rule::PodConfigError, Severity::Critical)
        .field(format!("{}.state.waiting.reason", s.path()), reason)
        .field(format!("{}.state.waiting.message", s.path()), message);
    let Some((kind, object, key)) = missing_reference(message) else {
        return f
            .summary(format!(
                "container {} cannot be created: {message}",
                s.cs.name
            ))
            .cause(format!(
                "the kubelet rejects the container configuration: {message}"
            ))
            .step(next::describe(
                "Pod",
                Some(namespace),
                name(&s.pod.metadata),
                "the container spec the message refers to",
            ))
            .into();
    };
    let what = match &key {
        Some(k) => format!("key {k} in {kind} {namespace}/{object}"),
        None => format!("{kind} {namespace}/{object}"),
    };
    let users = references(s.pod, &s.cs.name, kind, &object);
    f.summary(format!(
        "container {} cannot start: {what} is missing",
        s.cs.name
    ))
    .derived("missing", &what)
    .evidence(users.into_iter().map(|path| Evidence::Field {
        path,
        value: object.clone(),
    }))
    .cause(config_cause(&what, key.is_some()))
    .step(next::describe(
        kind,
        Some(namespace),
        &object,
        "whether it exists and which keys it has",
    ))
    .into()
}

fn config_cause(what: &str, is_key: bool) -> String {
    if is_key {
        format!(
            "the pod reads {what}, and the object has no such key: add the key (a recent edit \
             may have dropped it), or fix the key name in the pod template"
        )
    } else {
        format!(
            "the pod references {what}, which does not exist: create it, or fix the name in the pod template"
        )
    }
}

/// Spec paths in container `container` (and the pod's volumes) that name `kind` `object`.
fn references(pod: &Pod, container: &str, kind: &str, object: &str) -> Vec<String> {
    let secret = kind == "Secret";
    let mut paths = Vec::new();
    if let Some(c) = container_spec(pod, container) {
        let prefix = format!("spec.containers[name={container}]");
        for env in c.env.iter().flatten() {
            if let Some((field, _)) = env_ref(env, secret).filter(|(_, n)| *n == object) {
                paths.push(format!(
                    "{prefix}.env[name={}].valueFrom.{field}.name",
                    env.name
                ));
            }
        }
        for (i, src) in c.env_from.iter().flatten().enumerate() {
            if let Some((field, _)) = env_from_ref(src, secret).filter(|(_, n)| *n == object) {
                paths.push(format!("{prefix}.envFrom[{i}].{field}.name"));
            }
        }
    }
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_ref());
    for v in volumes.into_iter().flatten() {
        if let Some((field, _)) = volume_ref(v, secret).filter(|(_, n)| *n == object) {
            paths.push(format!("spec.volumes[name={}].{field}", v.name));
        }
    }
    paths
}

/// (field, name) of the Secret or ConfigMap an env var reads, if it reads one.
fn env_ref(env: &EnvVar, secret: bool) -> Option<(&'static str, &str)> {
    let from = env.value_from.as_ref()?;
    if secret {
        Some(("secretKeyRef", from.secret_key_ref.as_ref()?.name.as_str()))
    } else {
        Some((
            "configMapKeyRef",
            from.config_map_key_ref.as_ref()?.name.as_str(),
        ))
    }
}

fn env_from_ref(src: &EnvFromSource, secret: bool) -> Option<(&'static str, &str)> {
    if secret {
        Some(("secretRef", src.secret_ref.as_ref()?.name.as_str()))
    } else {
        Some(("configMapRef", src.config_map_ref.as_ref()?.name.as_str()))
    }
}

fn volume_ref(v: &Volume, secret: bool) -> Option<(&'static str, &str)> {
    if secret {
        Some((
            "secret.secretName",
            v.secret.as_ref()?.secret_name.as_deref()?,
        ))
    } else {
        Some(("configMap.name", v.config_map.as_ref()?.name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_and_repository_come_from_the_reference() {
        let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/checkout:v2.4.1";
        assert_eq!(
            registry_of(ecr),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(split_image(ecr), ("shop/checkout", "v2.4.1"));
        assert_eq!(registry_of("nginx:1.27"), "docker.io");
        assert_eq!(split_image("library/nginx"), ("library/nginx", "latest"));
        assert_eq!(
            split_image("localhost:5000/app@sha256:abc"),
            ("app", "latest")
        );
    }

    #[test]
    fn missing_references_are_parsed() {
        assert_eq!(
            missing_reference("couldn't find key DB_PASSWORD in Secret shop/db-credentials"),
            Some((
                "Secret",
                "db-credentials".into(),
                Some("DB_PASSWORD".into())
            ))
        );
        assert_eq!(
            missing_reference(r#"configmap "checkout-config" not found"#),
            Some(("ConfigMap", "checkout-config".into(), None))
        );
        assert_eq!(
            missing_reference("container has runAsNonRoot and image will run as root"),
            None
        );
    }

    #[test]
    fn exit_codes_are_explained() {
        let t = |code, reason: &str| ContainerStateTerminated {
            exit_code: code,
            reason: Some(reason.into()),
            ..Default::default()
        };
        assert!(exit_cause(Some(&t(1, "Error")), false).contains("code 1 (Error)"));
        assert!(exit_cause(Some(&t(137, "Error")), false).contains("SIGKILL"));
        assert!(exit_cause(Some(&t(137, "Error")), true).contains("liveness"));
        assert!(exit_cause(Some(&t(127, "Error")), false).contains("not found"));
        assert!(exit_cause(Some(&t(0, "Completed")), false).contains("code 0"));
        assert!(exit_cause(None, false).contains("no previous termination"));
    }
}
