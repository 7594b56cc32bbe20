//! Authenticated API calls: the session header, one sign-in again and retry on 401 (or a login
//! page where JSON was expected), and back-off on 429 and 5xx within the call's deadline.

use msc_sdk::http::{Request, Response};
use msc_sdk::retry::Backoff;
use msc_sdk::{AuthError, AuthFailure, Error};
use serde_json::Value;

use crate::auth::Session;
use crate::errors::{self, is_login_page};
use crate::settings::Settings;

pub struct Client {
    pub settings: Settings,
    session: Option<Session>,
}

impl Client {
    pub fn new(settings: Settings) -> Self {
        Self { settings, session: None }
    }

    /// `GET {root}{path}?{query}`, parsed as JSON. `what` names the object for errors.
    pub fn get(&mut self, path: &str, query: &[(&str, &str)], what: &str) -> Result<Value, Error> {
        let url = self.settings.url(path);
        let response = self.send(what, || query.iter().fold(Request::get(&url), |r, (k, v)| r.query(k, v)))?;
        response.json().map_err(|e| Error::Protocol(format!("MaaS360 {what}: {e}")))
    }

    /// `POST {root}{path}` with a form body, parsed as JSON.
    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)], what: &str) -> Result<Value, Error> {
        let url = self.settings.url(path);
        let response = self.send(what, || Request::post(&url).form(fields))?;
        response.json().map_err(|e| Error::Protocol(format!("MaaS360 {what}: {e}")))
    }

    /// Sends the request `build` makes until it succeeds or fails for good.
    fn send(&mut self, what: &str, build: impl Fn() -> Request) -> Result<Response, Error> {
        Backoff::default().run(|_| {
            let mut signed_in_again = false;
            loop {
                let session = match self.session.take() {
                    Some(session) => session,
                    None => Session::current(&self.settings)?,
                };
                let response =
                    build().header("authorization", &session.header()).header("accept", "application/json").send()?;
                self.session = Some(session);
                let refused = response.status == 401 || (response.is_success() && is_login_page(&response));
                if refused {
                    if signed_in_again {
                        return Err(Error::AuthFailed(AuthError {
                            reason: AuthFailure::TokenRejected,
                            message: format!("MaaS360 refused a new session token for the {what} request"),
                        }));
                    }
                    // The token expired or was revoked early: a fresh one, once.
                    self.session = Some(Session::renew(&self.settings)?);
                    signed_in_again = true;
                    continue;
                }
                if response.is_success() {
                    return Ok(response);
                }
                return Err(errors::status_error(&response, what));
            }
        })
    }
}
