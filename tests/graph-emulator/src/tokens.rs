//! Access tokens the emulated identity platform issued: JWT-shaped (with the app's `roles`, as
//! the real ones carry), remembered so Graph can check them, and expired on request.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::ids;

/// What an issued token grants.
#[derive(Clone, Debug)]
pub struct Grant {
    pub client_id: String,
    pub roles: Vec<String>,
    expires: Instant,
}

/// Why Graph refuses a bearer token (401 `InvalidAuthenticationToken`).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefused {
    #[error("Access token is empty.")]
    Missing,
    #[error("IDX14100: JWT is not well formed, there are no dots (.).")]
    Unknown,
    #[error("Lifetime validation failed, the token is expired.")]
    Expired,
}

#[derive(Default)]
pub struct Tokens {
    issued: HashMap<String, Grant>,
}

impl Tokens {
    /// A new token for `client_id` in `tenant_id` with `roles`, for `audience`, living `lifetime`.
    pub fn issue(
        &mut self,
        client_id: &str,
        tenant_id: &str,
        audience: &str,
        roles: Vec<String>,
        lifetime: Duration,
    ) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": "graph-emulator" });
        let claims = json!({
            "aud": audience,
            "iss": format!("https://sts.windows.net/{tenant_id}/"),
            "iat": now, "nbf": now, "exp": now + lifetime.as_secs(),
            "appid": client_id, "tid": tenant_id, "idtyp": "app",
            "roles": roles,
            "uti": ids::guid(),
        });
        let signature = format!("{:016x}{:016x}", ids::random(), ids::random());
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        );
        self.issued
            .insert(token.clone(), Grant { client_id: client_id.into(), roles, expires: Instant::now() + lifetime });
        token
    }

    /// The grant of the `Authorization` header's bearer token.
    pub fn check(&self, authorization: Option<&str>, now: Instant) -> Result<Grant, TokenRefused> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(TokenRefused::Missing)?;
        let grant = self.issued.get(token).ok_or(TokenRefused::Unknown)?;
        if now >= grant.expires {
            return Err(TokenRefused::Expired);
        }
        Ok(grant.clone())
    }

    /// Every token issued so far is expired from now on.
    pub fn expire_all(&mut self, now: Instant) {
        for grant in self.issued.values_mut() {
            grant.expires = grant.expires.min(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_jwts_that_expire() {
        let mut tokens = Tokens::default();
        let token = tokens.issue(
            "app",
            "tid",
            "https://graph.microsoft.com",
            vec!["Mail.Send".into()],
            Duration::from_secs(60),
        );
        let payload = token.split('.').nth(1).expect("payload");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json");
        assert_eq!(claims["roles"], json!(["Mail.Send"]));
        let header = format!("Bearer {token}");
        let now = Instant::now();
        assert_eq!(tokens.check(Some(&header), now).expect("valid").client_id, "app");
        assert_eq!(tokens.check(Some("Bearer nope"), now).err(), Some(TokenRefused::Unknown));
        assert_eq!(tokens.check(None, now).err(), Some(TokenRefused::Missing));
        tokens.expire_all(now);
        assert_eq!(tokens.check(Some(&header), now).err(), Some(TokenRefused::Expired));
    }
}
