//! Graph's side: `POST /v1.0/users/{id}/sendMail` and `GET /v1.0/users/{id}`, each checking the
//! bearer token first, then permissions, the mailbox, throttling, the fault script and the body.

use std::sync::Arc;
use std::time::Instant;

use hyper::StatusCode;
use serde_json::json;

use crate::faults::Fault;
use crate::message;
use crate::reply::{Reply, empty, graph_error, graph_retry_later, json_of};
use crate::tenant::{Mailbox, Tenant, user_id};
use crate::throttle::Throttled;
use crate::tokens::{Grant, TokenRefused};

/// The request body as read: whole, or larger than Graph takes.
pub enum Body {
    Whole(bytes::Bytes),
    TooLarge,
}

pub async fn send_mail(tenant: Arc<Tenant>, user: String, authorization: Option<String>, body: Body) -> Reply {
    tenant.state().stats.send_requests += 1;
    let reply = send_mail_checked(&tenant, user, authorization, body).await;
    *tenant.state().stats.answers.entry(reply.status().as_u16()).or_default() += 1;
    reply
}

async fn send_mail_checked(tenant: &Arc<Tenant>, user: String, authorization: Option<String>, body: Body) -> Reply {
    let grant = match authenticate(tenant, authorization.as_deref()) {
        Ok(grant) => grant,
        Err(refused) => return unauthorized(refused),
    };
    let Body::Whole(body) = body else {
        return graph_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("The request is larger than the maximum of {} bytes.", message::MAX_REQUEST_BYTES),
        );
    };
    if !grant.roles.iter().any(|r| r == "Mail.Send") {
        return graph_error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        );
    }
    let mailbox = match tenant.mailbox(&user) {
        Mailbox::Active(upn) => upn,
        Mailbox::Blocked => {
            return graph_error(
                StatusCode::FORBIDDEN,
                "ErrorAccessDenied",
                "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.",
            );
        }
        Mailbox::NotEnabled => {
            return graph_error(
                StatusCode::NOT_FOUND,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            );
        }
        Mailbox::Unknown => {
            return graph_error(
                StatusCode::NOT_FOUND,
                "ErrorInvalidUser",
                &format!("The requested user '{user}' is invalid."),
            );
        }
    };
    let key = format!("{}|{}", grant.client_id.to_ascii_lowercase(), mailbox.to_ascii_lowercase());
    let _in_flight = match tenant.admit(key) {
        Ok(guard) => guard,
        Err(Throttled::Rate { retry_after_secs }) => {
            return throttled("Application is over its MailboxRate limit.", retry_after_secs);
        }
        Err(Throttled::Concurrency) => return throttled("Application is over its MailboxConcurrency limit.", 1),
    };
    let fault = tenant.state().script.take();
    let mut then_504 = false;
    match fault {
        Some(Fault::Busy { retry_after_secs }) => {
            return graph_retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "ErrorServerBusy",
                "The server is busy. Try again later.",
                retry_after_secs,
            );
        }
        Some(Fault::Throttled { retry_after_secs }) => {
            return throttled("Application is over its MailboxConcurrency limit.", retry_after_secs);
        }
        Some(Fault::Delay(wait)) => tokio::time::sleep(wait).await,
        Some(Fault::AcceptThen504) => then_504 = true,
        None => {}
    }
    let sent = match message::read(&mailbox, &body) {
        Ok(sent) => sent,
        Err(refusal) => return graph_error(StatusCode::BAD_REQUEST, refusal.code, &refusal.message),
    };
    {
        let mut state = tenant.state();
        state.messages.push(sent);
        state.stats.accepted += 1;
    }
    tracing::debug!(%mailbox, "sendMail accepted");
    if then_504 {
        return graph_error(
            StatusCode::GATEWAY_TIMEOUT,
            "ErrorServerBusy",
            "The gateway did not receive a response from the mailbox server in time.",
        );
    }
    empty(StatusCode::ACCEPTED)
}

/// `GET /v1.0/users/{id}`: needs `User.Read.All`.
pub fn user(tenant: &Tenant, user: &str, authorization: Option<&str>) -> Reply {
    tenant.state().stats.user_lookups += 1;
    let reply = match authenticate(tenant, authorization) {
        Err(refused) => unauthorized(refused),
        Ok(grant) if !grant.roles.iter().any(|r| r == "User.Read.All") => graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        Ok(_) => match tenant.mailbox(user) {
            Mailbox::Unknown => graph_error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                &format!(
                    "Resource '{user}' does not exist or one of its queried reference-property objects are not present."
                ),
            ),
            // A user exists whatever the state of their mailbox: this lookup cannot tell.
            _ => json_of(
                StatusCode::OK,
                &json!({ "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id)/$entity", "id": if user.contains('@') { user_id(user) } else { user.to_ascii_lowercase() } }),
            ),
        },
    };
    *tenant.state().stats.answers.entry(reply.status().as_u16()).or_default() += 1;
    reply
}

/// The grant of the request's bearer token.
fn authenticate(tenant: &Tenant, authorization: Option<&str>) -> Result<Grant, TokenRefused> {
    tenant.state().tokens.check(authorization, Instant::now())
}

/// 401 `InvalidAuthenticationToken`, with the challenge Graph sends.
fn unauthorized(refused: TokenRefused) -> Reply {
    let mut reply = graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", &refused.to_string());
    let challenge =
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\"";
    crate::reply::header(&mut reply, "www-authenticate", challenge);
    reply
}

fn throttled(message: &str, retry_after_secs: u64) -> Reply {
    graph_retry_later(StatusCode::TOO_MANY_REQUESTS, "ApplicationThrottled", message, retry_after_secs)
}
