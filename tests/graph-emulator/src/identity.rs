//! The identity platform's token endpoint, client-credentials grant only:
//! `POST /{tenant}/oauth2/v2.0/token` with `client_id`, `scope={resource}/.default`,
//! `grant_type=client_credentials` and `client_secret`. Refusals are the AADSTS errors the real
//! endpoint gives, checked in its order: tenant, grant type, app, scope, secret.

use std::collections::HashMap;

use hyper::StatusCode;
use serde_json::json;

use crate::reply::{Reply, aad_error, json_of};
use crate::tenant::Tenant;

pub fn token(tenant: &Tenant, path_tenant: &str, form: &[u8]) -> Reply {
    tenant.state().stats.token_requests += 1;
    let fields: HashMap<String, String> = form_urlencoded::parse(form).into_owned().collect();
    let field = |name: &str| fields.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let config = &tenant.config;
    let missing = |name: &str| {
        aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    };

    if !tenant.is_tenant(path_tenant) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{path_tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let Some(grant_type) = field("grant_type") else { return missing("grant_type") };
    if grant_type != "client_credentials" {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        );
    }
    let Some(client_id) = field("client_id") else { return missing("client_id") };
    if !client_id.eq_ignore_ascii_case(&config.client_id) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the \
                 application has not been installed by the administrator of the tenant or consented to by any user in the \
                 tenant. You may have sent your authentication request to the wrong tenant.",
                config.tenant
            ),
        );
    }
    let Some(scope) = field("scope") else { return missing("scope") };
    let Some(resource) = scope.strip_suffix("/.default") else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with \
                 /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    if !tenant.resources.iter().any(|r| r.eq_ignore_ascii_case(resource)) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            &format!("The resource principal named {resource} was not found in the tenant named {}.", config.tenant),
        );
    }
    let Some(secret) = field("client_secret") else {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    };
    if secret != config.client_secret {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, \
                 not the client secret ID, for a secret added to app '{}'.",
                config.client_id
            ),
        );
    }
    if config.secret_expired {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000222,
            &format!(
                "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for \
                 your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: \
                 https://aka.ms/certCreds.",
                config.client_id
            ),
        );
    }

    let mut state = tenant.state();
    let roles: Vec<String> = [(state.mail_send, "Mail.Send"), (state.user_read_all, "User.Read.All")]
        .into_iter()
        .filter(|(granted, _)| *granted)
        .map(|(_, role)| role.to_string())
        .collect();
    let lifetime = config.token_lifetime;
    let access_token = state.tokens.issue(&config.client_id, &config.tenant_id, resource, roles, lifetime);
    state.stats.tokens_issued += 1;
    json_of(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "ext_expires_in": lifetime.as_secs(),
            "access_token": access_token,
        }),
    )
}
