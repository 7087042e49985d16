//! AWS configuration and errors: one home for region, profile, AssumeRole and endpoint settings,
//! and for turning SDK failures into tool errors that name the missing IAM action.
//!
//! Configs load lazily on the first AWS call and are cached per (region, profile, role). The SDK's
//! own environment handling applies, so `AWS_ENDPOINT_URL[_<SERVICE>]`, `AWS_MAX_ATTEMPTS` and
//! `AWS_RETRY_MODE` point the server at any AWS-compatible endpoint or change retries without
//! new flags.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig, timeout::TimeoutConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::sync::Mutex;

use super::AwsTarget;
use crate::config::Settings;
use crate::error::{ToolError, ToolResult};

/// Cached SDK configs, keyed by the effective target.
#[derive(Clone)]
pub struct AwsConfigCache {
    settings: Arc<Settings>,
    cache: Arc<Mutex<HashMap<AwsTarget, SdkConfig>>>,
}

impl AwsConfigCache {
    pub fn new(settings: Arc<Settings>) -> Self {
        AwsConfigCache {
            settings,
            cache: Arc::default(),
        }
    }

    /// The SDK config for `target`, falling back to the server's region and profile.
    pub async fn get(&self, target: &AwsTarget) -> ToolResult<SdkConfig> {
        let key = AwsTarget {
            region: target
                .region
                .clone()
                .or_else(|| self.settings.region.clone()),
            profile: target
                .profile
                .clone()
                .or_else(|| self.settings.profile.clone()),
            role_arn: target.role_arn.clone(),
        };
        if let Some(role) = &key.role_arn {
            validate_role_arn(role)?;
        }
        if let Some(region) = &key.region {
            validate_region(region)?;
        }
        let mut cache = self.cache.lock().await;
        if let Some(config) = cache.get(&key) {
            return Ok(config.clone());
        }
        let config = load(&key).await?;
        cache.insert(key, config.clone());
        Ok(config)
    }
}

async fn load(target: &AwsTarget) -> ToolResult<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .build(),
    );
    if let Some(region) = &target.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    let base = loader.load().await;
    if base.region().is_none() {
        return Err(ToolError::NotConfigured {
            what: "AWS region".into(),
            how: "pass `region`, start the server with --region, or set AWS_REGION".into(),
        });
    }
    let Some(role) = &target.role_arn else {
        return Ok(base);
    };
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("eks-ops-mcp")
        .configure(&base)
        .build()
        .await;
    Ok(base
        .into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build())
}

fn validate_role_arn(arn: &str) -> ToolResult<()> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].starts_with("role/");
    if ok {
        Ok(())
    } else {
        Err(ToolError::invalid(
            "role_arn",
            format!(
                "`{arn}` is not an IAM role ARN like arn:aws:iam::123456789012:role/ops-readonly"
            ),
        ))
    }
}

fn validate_region(region: &str) -> ToolResult<()> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ToolError::invalid(
            "region",
            format!("`{region}` is not a region name like eu-west-1"),
        ))
    }
}

/// Error codes that mean "not allowed", across services.
const DENIED_CODES: [&str; 8] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "AuthorizationError",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
];

/// Maps any SDK error to a tool error; `action` is the IAM action the call needs, e.g.
/// `eks:DescribeCluster`.
pub fn map_sdk_error<E, R>(action: &str, err: SdkError<E, R>) -> ToolError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let detail = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::TimeoutError(_) => ToolError::Timeout {
            what: format!("AWS call {action}"),
            after: Duration::from_secs(30),
        },
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown");
            let message = e.message().unwrap_or("").to_string();
            if DENIED_CODES.contains(&code) {
                ToolError::AccessDenied {
                    permission: format!("IAM action {action}"),
                    detail: format!("{code}: {message}"),
                }
            } else if code == "ResourceNotFoundException" || code.ends_with("NotFound") {
                ToolError::not_found(action_resource(action), message, Vec::new())
            } else if code.contains("Throttl")
                || code == "TooManyRequestsException"
                || code == "LimitExceededException"
            {
                ToolError::backend(
                    action,
                    format!(
                        "{code}: throttled by AWS; wait and retry, or narrow the query ({message})"
                    ),
                )
            } else {
                ToolError::backend(action, format!("{code}: {message}"))
            }
        }
        _ if detail.contains("no credentials")
            || detail.contains("credentials provider")
            || detail.contains("the credential provider was not enabled") =>
        {
            ToolError::NotConfigured {
                what: "AWS credentials".into(),
                how: format!(
                    "none could be loaded for {action}; set AWS_PROFILE or pass `profile`, or run where an instance/pod role exists ({detail})"
                ),
            }
        }
        SdkError::DispatchFailure(d) if d.is_timeout() => ToolError::Timeout {
            what: format!("AWS call {action}"),
            after: Duration::from_secs(30),
        },
        SdkError::DispatchFailure(_) => ToolError::backend(
            action,
            format!("could not reach the AWS endpoint: {detail}"),
        ),
        _ => ToolError::backend(action, detail),
    }
}

fn action_resource(action: &str) -> String {
    action
        .split(':')
        .nth(1)
        .unwrap_or(action)
        .trim_start_matches("Describe")
        .trim_start_matches("Get")
        .to_string()
}

/// Current credentials of a config, for signing requests the SDK does not make (EKS tokens, AMP).
pub async fn credentials(config: &SdkConfig) -> ToolResult<aws_credential_types::Credentials> {
    use aws_credential_types::provider::ProvideCredentials;
    let provider = config
        .credentials_provider()
        .ok_or_else(|| ToolError::NotConfigured {
            what: "AWS credentials".into(),
            how: "set AWS_PROFILE or pass `profile`, or run where an instance/pod role exists"
                .into(),
        })?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| ToolError::NotConfigured {
            what: "AWS credentials".into(),
            how: format!("loading them failed: {}", DisplayErrorContext(&e)),
        })
}

/// Signs `request` with SigV4 for `service`; with `presign_for`, into the query string instead of
/// headers (what an EKS token is).
pub fn sign_request(
    request: &mut http::Request<Vec<u8>>,
    credentials: aws_credential_types::Credentials,
    region: &str,
    service: &str,
    time: std::time::SystemTime,
    presign_for: Option<Duration>,
) -> ToolResult<()> {
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    use aws_smithy_runtime_api::client::identity::Identity;
    let mut settings = SigningSettings::default();
    if let Some(expires) = presign_for {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
    }
    let identity: Identity = credentials.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| ToolError::backend("SigV4 signing", e))?
        .into();
    let uri = request.uri().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(request.body()),
    )
    .map_err(|e| ToolError::backend("SigV4 signing", e))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| ToolError::backend("SigV4 signing", e))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_are_checked() {
        assert!(validate_role_arn("arn:aws:iam::123456789012:role/ops").is_ok());
        assert!(validate_role_arn("arn:aws-cn:iam::123456789012:role/path/ops").is_ok());
        let err = validate_role_arn("ops").unwrap_err().to_string();
        assert!(err.contains("role_arn"), "{err}");
        assert!(validate_role_arn("arn:aws:iam::1234:role/ops").is_err());
    }

    #[test]
    fn regions_are_checked() {
        assert!(validate_region("eu-west-1").is_ok());
        assert!(validate_region("EU WEST").is_err());
    }
}
