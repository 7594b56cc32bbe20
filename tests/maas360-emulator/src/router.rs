//! One request's way through the emulator: route → count → faults → authentication → endpoint →
//! rate-limit headers → count the answer.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, HeaderMap};
use hyper::http::request::Parts;
use hyper::{Method, Request, StatusCode};

use crate::admin;
use crate::api::search::SearchVersion;
use crate::api::{self, Params};
use crate::auth::{self, LoginVersion};
use crate::faults::Verdict;
use crate::reply::{self, Reply};
use crate::tenant::{Tenant, lock};

/// Request bodies larger than this are refused (413); the API's bodies are a few hundred bytes.
const MAX_BODY: usize = 1 << 20;

/// The API endpoints the emulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    AuthenticateV2,
    AuthenticateV1,
    RefreshToken,
    SearchV2,
    SearchV1,
    Groups,
    SearchByDeviceGroup,
    SoftwareInstalled,
    SetCustomAttributeValue,
    Identity,
    CustomAttributes,
}

/// Path prefixes; the billing ID follows.
const ROUTES: [(&str, Endpoint); 11] = [
    ("/auth-apis/auth/2.0/authenticate/customer/", Endpoint::AuthenticateV2),
    ("/auth-apis/auth/1.0/authenticate/", Endpoint::AuthenticateV1),
    ("/auth-apis/auth/2.0/refreshToken/customer/", Endpoint::RefreshToken),
    ("/device-apis/devices/2.0/search/customer/", Endpoint::SearchV2),
    ("/device-apis/devices/1.0/search/", Endpoint::SearchV1),
    ("/group-apis/group/1.0/groups/customer/", Endpoint::Groups),
    ("/device-apis/devices/1.0/searchByDeviceGroup/", Endpoint::SearchByDeviceGroup),
    ("/device-apis/devices/1.0/softwareInstalled/", Endpoint::SoftwareInstalled),
    ("/device-apis/devices/1.0/setCustomAttributeValue/", Endpoint::SetCustomAttributeValue),
    ("/device-apis/devices/1.0/identity/", Endpoint::Identity),
    ("/device-apis/devices/2.0/customAttributes/customer/", Endpoint::CustomAttributes),
];

impl Endpoint {
    /// The endpoint and billing ID of a path.
    fn route(path: &str) -> Option<(Self, &str)> {
        ROUTES.iter().find_map(|(prefix, endpoint)| {
            let billing_id = path.strip_prefix(prefix)?;
            let billing_id = billing_id.strip_suffix('/').unwrap_or(billing_id);
            (!billing_id.is_empty() && !billing_id.contains('/')).then_some((*endpoint, billing_id))
        })
    }

    /// Its name in `Stats::requests`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AuthenticateV2 => "authenticate_v2",
            Self::AuthenticateV1 => "authenticate_v1",
            Self::RefreshToken => "refresh_token",
            Self::SearchV2 => "search_v2",
            Self::SearchV1 => "search_v1",
            Self::Groups => "groups",
            Self::SearchByDeviceGroup => "search_by_device_group",
            Self::SoftwareInstalled => "software_installed",
            Self::SetCustomAttributeValue => "set_custom_attribute_value",
            Self::Identity => "identity",
            Self::CustomAttributes => "custom_attributes",
        }
    }

    fn method(self) -> Method {
        match self {
            Self::AuthenticateV2
            | Self::AuthenticateV1
            | Self::RefreshToken
            | Self::SetCustomAttributeValue
            | Self::CustomAttributes => Method::POST,
            Self::SearchV2
            | Self::SearchV1
            | Self::Groups
            | Self::SearchByDeviceGroup
            | Self::SoftwareInstalled
            | Self::Identity => Method::GET,
        }
    }

    fn needs_token(self) -> bool {
        !matches!(self, Self::AuthenticateV2 | Self::AuthenticateV1 | Self::RefreshToken)
    }
}

/// Answers one HTTP request.
pub async fn handle(tenant: Arc<Tenant>, request: Request<Incoming>) -> Result<Reply, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(reply::empty(StatusCode::PAYLOAD_TOO_LARGE)),
    };
    let path = parts.uri.path();
    let query = Params::parse(parts.uri.query().unwrap_or("").as_bytes());
    if let Some(admin_path) = path.strip_prefix("/_emulator/") {
        return Ok(admin::handle(&tenant, &parts.method, admin_path, &query));
    }
    let Some((endpoint, billing_id)) = Endpoint::route(path) else {
        return Ok(reply::error_page(StatusCode::NOT_FOUND));
    };
    if parts.method != endpoint.method() {
        let mut refused = reply::error_page(StatusCode::METHOD_NOT_ALLOWED);
        reply::header(&mut refused, "allow", endpoint.method());
        return Ok(refused);
    }
    let answer = serve(&tenant, endpoint, billing_id, &parts, &query, &body);
    tracing::debug!(endpoint = endpoint.name(), status = answer.status().as_u16(), "answered");
    Ok(answer)
}

fn serve(tenant: &Tenant, endpoint: Endpoint, billing_id: &str, parts: &Parts, query: &Params, body: &Bytes) -> Reply {
    lock(&tenant.stats).request(endpoint.name());
    let verdict = lock(&tenant.faults).next(Instant::now());
    let window = match verdict {
        Verdict::Pass(window) => window,
        Verdict::HtmlLogin => {
            lock(&tenant.stats).html_pages += 1;
            return reply::login_page(None);
        }
        Verdict::Fail(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return counted(tenant, reply::error_page(status));
        }
        Verdict::Throttle(retry_after) => {
            return counted(tenant, too_many(retry_after, retry_after.saturating_mul(1000)));
        }
        Verdict::RateLimited { reset_ms } => return counted(tenant, too_many(1, reset_ms)),
    };
    let mut answer = if endpoint.needs_token() {
        match auth::check_token(tenant, &parts.headers) {
            // A token of this tenant used with another billing ID is as good as none.
            Ok(()) if billing_id != tenant.config.billing_id => {
                reply::text(StatusCode::UNAUTHORIZED, auth::sessions::Refused::Invalid.body())
            }
            Ok(()) => api(tenant, endpoint, &parts.headers, query, body),
            Err(refused) => reply::text(StatusCode::UNAUTHORIZED, refused.body()),
        }
    } else {
        let accept_json = accepts_json(&parts.headers);
        match endpoint {
            Endpoint::AuthenticateV1 => auth::login(tenant, LoginVersion::V1, billing_id, accept_json, body),
            Endpoint::RefreshToken => auth::refresh(tenant, billing_id, accept_json, body),
            _ => auth::login(tenant, LoginVersion::V2, billing_id, accept_json, body),
        }
    };
    if let Some(window) = window {
        reply::header(&mut answer, "x-rate-limit-remaining", window.remaining);
        reply::header(&mut answer, "x-rate-limit-resetwindow", window.reset_ms);
    }
    counted(tenant, answer)
}

fn api(tenant: &Tenant, endpoint: Endpoint, headers: &HeaderMap, query: &Params, body: &Bytes) -> Reply {
    match endpoint {
        Endpoint::SearchV2 => api::search::search(tenant, SearchVersion::V2, query),
        Endpoint::SearchV1 => api::search::search(tenant, SearchVersion::V1, query),
        Endpoint::Groups => api::groups::list(tenant),
        Endpoint::SearchByDeviceGroup => api::search::by_group(tenant, query),
        Endpoint::SoftwareInstalled => api::software::installed(tenant, query),
        Endpoint::SetCustomAttributeValue => api::attributes::set_value(tenant, headers, body),
        Endpoint::Identity => api::attributes::identity(tenant, query),
        Endpoint::CustomAttributes => api::attributes::define(tenant, headers, body),
        Endpoint::AuthenticateV2 | Endpoint::AuthenticateV1 | Endpoint::RefreshToken => {
            reply::error_page(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// 429 with `Retry-After` and the rate-limit headers some clients read.
fn too_many(retry_after_secs: u64, reset_ms: u64) -> Reply {
    let mut answer =
        reply::json(StatusCode::TOO_MANY_REQUESTS, r#"{"errorCode":429,"errorDesc":"Rate limit exceeded"}"#);
    reply::header(&mut answer, "retry-after", retry_after_secs);
    reply::header(&mut answer, "x-rate-limit-remaining", 0);
    reply::header(&mut answer, "x-rate-limit-resetwindow", reset_ms);
    answer
}

fn counted(tenant: &Tenant, answer: Reply) -> Reply {
    lock(&tenant.stats).answered(answer.status().as_u16());
    answer
}

fn accepts_json(headers: &HeaderMap) -> bool {
    headers.get_all(ACCEPT).iter().any(|value| value.to_str().is_ok_and(|v| v.contains("application/json")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_take_the_billing_id_from_the_path() {
        assert_eq!(
            Endpoint::route("/device-apis/devices/2.0/search/customer/30012345"),
            Some((Endpoint::SearchV2, "30012345"))
        );
        assert_eq!(Endpoint::route("/device-apis/devices/1.0/search/1/"), Some((Endpoint::SearchV1, "1")));
        assert_eq!(Endpoint::route("/device-apis/devices/1.0/search/"), None);
        assert_eq!(Endpoint::route("/device-apis/devices/1.0/search/1/extra"), None);
        assert_eq!(Endpoint::route("/auth-apis/auth/1.0/authenticate/7"), Some((Endpoint::AuthenticateV1, "7")));
    }
}
