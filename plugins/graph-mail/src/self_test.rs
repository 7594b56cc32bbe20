//! The "test connection" button, which sends nothing:
//!
//! 1. `settings`: every required setting and the secret are present and well formed;
//! 2. `token`: a new token from the token endpoint (not the cached one, which would hide a
//!    changed or expired secret) — the tenant, app and secret are right;
//! 3. `Mail.Send permission`: the token's `roles` include `Mail.Send` (admin consent given);
//! 4. `sender mailbox`: `GET /v1.0/users/{sender}?$select=id` finds the user. This needs
//!    `User.Read.All`, which sending does not: a 403 passes with a note that it could not be
//!    checked. It proves the user exists, not that the mailbox is licensed and active.

use msc_sdk::http::Request;
use msc_sdk::self_test::check;
use msc_sdk::{Check, Error};

use crate::message::path_segment;
use crate::outcome::GraphError;
use crate::settings::Settings;
use crate::{budget, roles, token};

pub fn run() -> Vec<Check> {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => return vec![check("settings", Err(e))],
    };
    let mut checks = vec![check("settings", Ok("every required setting and the client secret are present".into()))];
    let token = match token::fetch(&settings) {
        Ok(token) => token,
        Err(e) => {
            checks.push(check("token", Err(e)));
            return checks;
        }
    };
    checks.push(check(
        "token",
        Ok(format!(
            "app `{}` signed in to tenant `{}`; tokens live {} s",
            settings.client_id, settings.tenant, token.expires_in
        )),
    ));
    checks.push(match roles::of_token(&token.access_token) {
        Some(roles) if roles.iter().any(|r| r == "Mail.Send") => check("Mail.Send permission", Ok("granted".into())),
        Some(_) => check(
            "Mail.Send permission",
            Err(Error::Forbidden(
                "the token does not carry the application permission Mail.Send: add it to the app registration \
                 and grant admin consent"
                    .into(),
            )),
        ),
        None => Check {
            name: "Mail.Send permission".into(),
            passed: true,
            detail: "not checked: the token is not a JWT the plugin can read".into(),
        },
    });
    checks.push(mailbox(&settings, &token.header()));
    checks
}

/// Whether Graph knows the sending mailbox's user.
fn mailbox(settings: &Settings, authorization: &str) -> Check {
    let name = "sender mailbox";
    let url = format!("{}/v1.0/users/{}", settings.graph_url, path_segment(&settings.sender));
    let response = match Request::get(&url)
        .query("$select", "id")
        .header("authorization", authorization)
        .header("accept", "application/json")
        .timeout(budget::request_timeout(msc_sdk::call::remaining()))
        .send()
    {
        Ok(response) => response,
        Err(e) => return check(name, Err(e.into())),
    };
    let said = || GraphError::parse(response.status, &response.body).said();
    match response.status {
        200 => check(name, Ok(format!("Graph knows the user `{}`", settings.sender))),
        403 => Check {
            name: name.into(),
            passed: true,
            detail: format!(
                "not checked: looking the user up needs the permission User.Read.All, which sending does not ({})",
                said()
            ),
        },
        404 => {
            check(name, Err(Error::InvalidConfig(format!("Graph knows no user `{}` ({})", settings.sender, said()))))
        }
        status => check(name, Err(Error::Protocol(format!("Graph answered HTTP {status} ({})", said())))),
    }
}
