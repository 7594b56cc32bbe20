//! Authenticated API calls: the credentials and `aw-tenant-code` on every call, the API version
//! in `Accept`, one new OAuth token and retry per call on 401, and back-off on 429 and 5xx within
//! the call's deadline (honouring `Retry-After`).

use msc_sdk::http::{Request, Response};
use msc_sdk::retry::Backoff;
use msc_sdk::session::{Attempt, with_session};
use msc_sdk::{Error, RetryLater};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::Session;
use crate::errors;
use crate::settings::Settings;

pub struct Client {
    pub settings: Settings,
    session: Option<Session>,
}

impl Client {
    pub fn new(settings: Settings) -> Self {
        Self { settings, session: None }
    }

    /// `GET {root}/API{path}?{query}` with API `version`: the JSON answer, `None` for the
    /// service's empty answer (204). `what` names the object for errors.
    pub fn get<T: DeserializeOwned>(
        &mut self,
        path: &str,
        query: &[(&str, String)],
        version: u32,
        what: &str,
    ) -> Result<Option<T>, Error> {
        let Some(body) = self.get_raw(path, query, version, what)? else { return Ok(None) };
        serde_json::from_slice(&body).map(Some).map_err(|e| Error::Protocol(format!("Workspace ONE {what}: {e}")))
    }

    /// The same, the body itself (to deserialize borrowing from it).
    pub fn get_raw(
        &mut self,
        path: &str,
        query: &[(&str, String)],
        version: u32,
        what: &str,
    ) -> Result<Option<Vec<u8>>, Error> {
        let url = self.settings.url(path);
        let response = self.send(what, version, || query.iter().fold(Request::get(&url), |r, (k, v)| r.query(k, v)))?;
        Ok(body_of(response))
    }

    /// `POST {root}/API{path}` with a JSON body; the JSON answer.
    pub fn post<T: DeserializeOwned, B: Serialize>(&mut self, path: &str, body: &B, what: &str) -> Result<T, Error> {
        let url = self.settings.url(path);
        let body = serde_json::to_vec(body).map_err(|e| Error::Internal(format!("{what} body: {e}")))?;
        let response =
            self.send(what, 1, || Request::post(&url).header("content-type", "application/json").body(body.clone()))?;
        let body = body_of(response)
            .ok_or_else(|| Error::Protocol(format!("Workspace ONE answered the {what} request without a body")))?;
        serde_json::from_slice(&body).map_err(|e| Error::Protocol(format!("Workspace ONE {what}: {e}")))
    }

    /// `request` (a `PUT` or `DELETE` with a JSON body) to `{root}/API{path}`, whose answer has no body.
    pub fn write<B: Serialize>(
        &mut self,
        make: fn(&str) -> Request,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<(), Error> {
        let url = self.settings.url(path);
        let body = serde_json::to_vec(body).map_err(|e| Error::Internal(format!("{what} body: {e}")))?;
        self.send(what, 1, || make(&url).header("content-type", "application/json").body(body.clone()))?;
        Ok(())
    }

    /// Signs in again with the credentials themselves (a new token for OAuth): what the
    /// self-test checks, so a cached token cannot hide a changed secret.
    pub fn sign_in_fresh(&mut self) -> Result<(), Error> {
        self.session = Some(Backoff::default().run(|_| Session::renew(&self.settings))?);
        Ok(())
    }

    /// Sends the request `build` makes until it succeeds or fails for good.
    fn send(&mut self, what: &str, version: u32, build: impl Fn() -> Request) -> Result<Response, Error> {
        let accept = format!("application/json;version={version}");
        let settings = &self.settings;
        let sign_in = |fresh| if fresh { Session::renew(settings) } else { Session::current(settings) };
        let refused_again = format!("Workspace ONE refused a new OAuth token for the {what} request");
        with_session(
            &mut self.session,
            sign_in,
            |session| {
                let response = session.apply(settings, build()).header("accept", &accept).send()?;
                if response.status == 401 && session.renewable() {
                    // The token expired or was revoked early.
                    return Ok(Attempt::Refused);
                }
                if response.is_success() && errors::is_html(&response) {
                    // A proxy or maintenance page where the API should be.
                    return Err(Error::Unavailable(RetryLater {
                        retry_after_ms: None,
                        message: format!("Workspace ONE answered an HTML page instead of the {what} data"),
                    }));
                }
                if response.is_success() {
                    return Ok(Attempt::Done(response));
                }
                Err(errors::status_error(&response, what))
            },
            &refused_again,
        )
    }
}

/// A successful answer's body; `None` for 204 or an empty body.
fn body_of(response: Response) -> Option<Vec<u8>> {
    if response.status == 204 || response.body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(response.body)
}
