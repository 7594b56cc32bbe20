//! One request's way through the emulator: route → count → quota and faults → authentication →
//! Accept/version → endpoint → quota and version headers → count the answer.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, HeaderMap};
use hyper::{Request, StatusCode};

use crate::api::{self, Params};
use crate::auth;
use crate::error::ApiError;
use crate::faults::{Quota, Verdict};
use crate::reply::{self, Reply};
use crate::routes::{Route, Unrouted};
use crate::tenant::{Tenant, lock};
use crate::version;

/// Request bodies larger than this are refused (413); the API's bodies are small.
const MAX_BODY: usize = 1 << 20;

pub async fn handle(tenant: Arc<Tenant>, request: Request<Incoming>) -> Result<Reply, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(reply::iis_page(StatusCode::PAYLOAD_TOO_LARGE)),
    };
    let route = match Route::parse(&parts.method, parts.uri.path()) {
        Ok(route) => route,
        Err(Unrouted::NotFound) => return Ok(reply::iis_page(StatusCode::NOT_FOUND)),
        Err(Unrouted::MethodNotAllowed) => return Ok(reply::iis_page(StatusCode::METHOD_NOT_ALLOWED)),
    };
    lock(&tenant.stats).request(route.name());
    let query = Params::parse(parts.uri.query().unwrap_or("").as_bytes());
    // The token endpoint lives on the auth host: no quota, no tenant code.
    let answer = if route == Route::Token {
        auth::token(&tenant, &parts.headers, &body)
    } else {
        serve(&tenant, &route, &parts.headers, &query, &body)
    };
    tracing::debug!(endpoint = route.name(), status = answer.status().as_u16(), "answered");
    lock(&tenant.stats).answered(answer.status().as_u16());
    Ok(answer)
}

fn serve(tenant: &Tenant, route: &Route, headers: &HeaderMap, query: &Params, body: &Bytes) -> Reply {
    let (verdict, quota) = lock(&tenant.faults).next();
    let mut answer = match verdict {
        Verdict::Pass => match authorized(tenant, route, headers, query, body) {
            Ok(answer) => answer,
            Err(error) => error.reply(),
        },
        Verdict::Fail(status) => reply::iis_page(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)),
        Verdict::Throttle(retry_after) => {
            let mut answer = ApiError::Throttled.reply();
            reply::header(&mut answer, "retry-after", retry_after);
            answer
        }
        Verdict::QuotaExhausted => ApiError::QuotaExhausted.reply(),
    };
    stamp_quota(&mut answer, quota);
    answer
}

fn authorized(
    tenant: &Tenant,
    route: &Route,
    headers: &HeaderMap,
    query: &Params,
    body: &Bytes,
) -> Result<Reply, ApiError> {
    count_scheme(tenant, headers);
    auth::authorize(tenant, headers)?;
    let supported = route.versions();
    let served = version::served(version::requested(headers)?, supported);
    let mut answer = endpoint(tenant, route, served, query, body)?;
    version::stamp(&mut answer, served, supported);
    Ok(answer)
}

fn endpoint(tenant: &Tenant, route: &Route, version: u32, query: &Params, body: &Bytes) -> Result<Reply, ApiError> {
    match route {
        Route::DeviceSearch => api::search::search(tenant, version, query),
        Route::DeviceByAlternateId => api::devices::by_alternate_id(tenant, version, query),
        Route::Device(id) => api::devices::by_id(tenant, version, id),
        Route::DeviceApps(id) => api::apps::v1(tenant, id, query),
        Route::DeviceAppSearch(uuid) => api::apps::search(tenant, uuid, query),
        Route::DeviceTags(uuid) => api::tags::of_device(tenant, uuid),
        Route::SetCustomAttributes(id) => api::attributes::change(tenant, id, body, false),
        Route::RemoveCustomAttributes(id) => api::attributes::change(tenant, id, body, true),
        Route::GroupSearch => Ok(api::groups::search(version, query)),
        Route::GroupChildren(id) => api::groups::children(id),
        Route::TagSearch => api::tags::search(tenant, query),
        Route::AddTag => api::tags::create(tenant, body),
        Route::TagAddDevices(tag) => api::tags::change(tenant, tag, body, true),
        Route::TagRemoveDevices(tag) => api::tags::change(tenant, tag, body, false),
        Route::TagDevices(tag) => api::tags::devices(tenant, tag),
        // Answered before authentication; unreachable here.
        Route::Token => Err(ApiError::NotFound("Not found.")),
    }
}

fn count_scheme(tenant: &Tenant, headers: &HeaderMap) {
    let scheme = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_ascii_lowercase());
    let mut stats = lock(&tenant.stats);
    match scheme {
        Some(value) if value.starts_with("basic ") => stats.basic_auth += 1,
        Some(value) if value.starts_with("bearer ") => stats.bearer_auth += 1,
        _ => {}
    }
}

/// Every API answer carries the daily quota.
fn stamp_quota(answer: &mut Reply, quota: Quota) {
    reply::header(answer, "x-ratelimit-limit", quota.limit);
    reply::header(answer, "x-ratelimit-remaining", quota.remaining);
    reply::header(answer, "x-ratelimit-reset", quota.reset);
}
