//! `Status` error answers, shaped and worded as the API server writes them.
//!
//! Clients (kube-rs, client-go) parse the body of any 4xx/5xx as `meta/v1 Status`, so every error
//! path of the stand-in goes through [`ApiError`]; the messages copy the API server's wording so
//! error-mapping code can be tested on the real strings.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusDetails};

/// One failed request: the HTTP code and the `Status` body (boxed: errors travel through every
/// handler's `Result`, and a `Status` is large).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub status: Box<Status>,
}

/// The group and plural a `details` block names, e.g. (`apps`, `deployments`).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub group: &'a str,
    pub plural: &'a str,
    pub name: Option<&'a str>,
}

impl Target<'_> {
    /// `deployments.apps` for grouped resources, `pods` for the core group.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn details(&self) -> StatusDetails {
        StatusDetails {
            name: self.name.map(str::to_string),
            group: (!self.group.is_empty()).then(|| self.group.to_string()),
            kind: Some(self.plural.to_string()),
            ..Default::default()
        }
    }
}

impl ApiError {
    fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        let status = Box::new(Status {
            code: Some(i32::from(code)),
            message: Some(message.into()),
            reason: Some(reason.to_string()),
            status: Some("Failure".to_string()),
            ..Default::default()
        });
        Self { code, status }
    }

    fn with_details(mut self, details: StatusDetails) -> Self {
        self.status.details = Some(details);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// The RBAC denial, worded as the authorizer words it.
    pub fn forbidden(
        user: &str,
        target: Target<'_>,
        verb: &str,
        resource: &str,
        ns: Option<&str>,
    ) -> Self {
        let subject = match target.name {
            Some(name) => format!("{} \"{name}\"", target.qualified()),
            None => target.qualified(),
        };
        let scope = match ns {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let message = format!(
            "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}",
            group = target.group,
        );
        Self::new(403, "Forbidden", message).with_details(target.details())
    }

    pub fn not_found(target: Target<'_>) -> Self {
        let name = target.name.unwrap_or_default();
        let message = format!("{} \"{name}\" not found", target.qualified());
        Self::new(404, "NotFound", message).with_details(target.details())
    }

    /// A path that names no served resource.
    pub fn path_not_found(path: &str) -> Self {
        let details = StatusDetails {
            name: Some(path.to_string()),
            ..Default::default()
        };
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(details)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// A continue token or resourceVersion the server no longer (or never) had.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// The answer to a resourceVersion newer than the store's.
    pub fn too_large_resource_version(requested: u64, current: u64) -> Self {
        let message = format!("Too large resource version: {requested}, current: {current}");
        let cause = k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusCause {
            message: Some(message.clone()),
            reason: Some("ResourceVersionTooLarge".to_string()),
            field: None,
        };
        let details = StatusDetails {
            causes: Some(vec![cause]),
            retry_after_seconds: Some(1),
            ..Default::default()
        };
        Self::new(504, "Timeout", message).with_details(details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_message_matches_the_authorizer() {
        let target = Target {
            group: "",
            plural: "pods",
            name: None,
        };
        let user = "system:serviceaccount:ops:eks-ops-mcp";
        let err = ApiError::forbidden(user, target, "list", "pods", Some("kube-system"));
        assert_eq!(
            err.status.message.as_deref(),
            Some(
                "pods is forbidden: User \"system:serviceaccount:ops:eks-ops-mcp\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\""
            )
        );
        assert_eq!(err.code, 403);
    }

    #[test]
    fn not_found_qualifies_grouped_resources() {
        let target = Target {
            group: "apps",
            plural: "deployments",
            name: Some("web"),
        };
        let err = ApiError::not_found(target);
        assert_eq!(
            err.status.message.as_deref(),
            Some("deployments.apps \"web\" not found")
        );
        let details = err.status.details.unwrap();
        assert_eq!(details.group.as_deref(), Some("apps"));
    }
}
