//! Authenticated API calls: the session header, one sign-in again and retry per call on 401 (or
//! a login page where JSON was expected), and back-off on 429 and 5xx within the call's deadline.

use msc_sdk::http::{Request, Response};
use msc_sdk::session::{Attempt, with_session};
use msc_sdk::{Error, RetryLater};
use serde::de::DeserializeOwned;

use crate::auth::Session;
use crate::errors::{self, HtmlPage};
use crate::settings::Settings;

pub struct Client {
    pub settings: Settings,
    session: Option<Session>,
}

impl Client {
    pub fn new(settings: Settings) -> Self {
        Self { settings, session: None }
    }

    /// `GET {root}{path}?{query}`, deserialized from JSON. `what` names the object for errors.
    pub fn get<T: DeserializeOwned>(&mut self, path: &str, query: &[(&str, &str)], what: &str) -> Result<T, Error> {
        let response = self.fetch(path, query, what)?;
        response.json().map_err(|e| Error::Protocol(format!("MaaS360 {what}: {e}")))
    }

    /// `GET {root}{path}?{query}`, the successful response itself (to deserialize borrowing
    /// from its body).
    pub fn fetch(&mut self, path: &str, query: &[(&str, &str)], what: &str) -> Result<Response, Error> {
        let url = self.settings.url(path);
        self.send(what, || query.iter().fold(Request::get(&url), |r, (k, v)| r.query(k, v)))
    }

    /// `POST {root}{path}` with a form body, deserialized from JSON.
    pub fn post_form<T: DeserializeOwned>(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        what: &str,
    ) -> Result<T, Error> {
        let url = self.settings.url(path);
        let response = self.send(what, || Request::post(&url).form(fields))?;
        response.json().map_err(|e| Error::Protocol(format!("MaaS360 {what}: {e}")))
    }

    /// The v2 device search path of the tenant.
    pub fn search_path(&self) -> String {
        format!("/device-apis/devices/2.0/search/customer/{}", self.settings.billing_id)
    }

    /// Sends the request `build` makes until it succeeds or fails for good.
    fn send(&mut self, what: &str, build: impl Fn() -> Request) -> Result<Response, Error> {
        let settings = &self.settings;
        let sign_in = |fresh| if fresh { Session::renew(settings) } else { Session::current(settings) };
        let refused_again = format!("MaaS360 refused a new session token for the {what} request");
        with_session(
            &mut self.session,
            sign_in,
            |session| {
                let response =
                    build().header("authorization", &session.header()).header("accept", "application/json").send()?;
                let page = errors::html_page(&response);
                if response.status == 401 || page == Some(HtmlPage::Login) {
                    // The token expired or was revoked early.
                    return Ok(Attempt::Refused);
                }
                if page == Some(HtmlPage::Other) && response.is_success() {
                    // A proxy or maintenance page where the API should be.
                    return Err(Error::Unavailable(RetryLater {
                        retry_after_ms: None,
                        message: format!("MaaS360 answered an HTML page instead of the {what} data"),
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
