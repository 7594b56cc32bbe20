//! One `sendMail` call: the token, the request, and at most one new token when Graph refuses
//! the cached one. Nothing else is retried here (see [`crate::outcome`]).

use msc_sdk::http::Request;
use msc_sdk::mail::{Delivery, Message, SendError};
use msc_sdk::{AuthError, AuthFailure, Error};

use crate::outcome::{self, Answer};
use crate::settings::Settings;
use crate::{budget, message, token};

pub fn send(message: &Message) -> Result<Delivery, SendError> {
    let settings = Settings::load().map_err(SendError::Failed)?;
    let outgoing = message::build(message, &settings)?;
    let url = outgoing.url(&settings.graph_url);
    let mut token = token::current(&settings).map_err(outcome::before_sending)?;
    let mut renewed = false;
    loop {
        let response = Request::post(&url)
            .header("authorization", &token.header())
            .header("content-type", "application/json")
            .body(outgoing.body.clone())
            .timeout(budget::request_timeout(msc_sdk::call::remaining()))
            .send()
            .map_err(outcome::transport)?;
        match outcome::classify(response.status, response.retry_after(), &response.body, &outgoing.message_id) {
            Answer::Accepted(delivery) => return Ok(delivery),
            // A 401 is decided before Graph looks at the message: a new token is safe to try, once.
            Answer::TokenRefused(reply) if !renewed => {
                msc_sdk::info!("Graph refused the cached token ({}); fetching a new one", reply.text);
                token::forget();
                token = token::fetch(&settings).map_err(outcome::before_sending)?;
                renewed = true;
            }
            Answer::TokenRefused(reply) => {
                token::forget();
                return Err(SendError::Failed(Error::AuthFailed(AuthError {
                    reason: AuthFailure::TokenRejected,
                    message: format!("Graph refused a new access token too ({})", reply.text),
                })));
            }
            Answer::Failed(error) => return Err(error),
        }
    }
}
