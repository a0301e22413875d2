//! The authorization-code flow with PKCE, `state` and `nonce` (OIDC Core 3.1): `begin` sends
//! the browser to the provider, `finish` checks its answer — the state (single use, and the
//! one this browser was given), the code exchanged with the PKCE verifier, the ID token's
//! signature (keys fetched again once for an unknown key), issuer, audience, expiry and
//! nonce — and hands the verified identity to `commands::login`.

use openidconnect::core::{CoreAuthenticationFlow, CoreJwsSigningAlgorithm};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, CsrfToken, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RequestTokenError, Scope, SignatureVerificationError, TokenResponse as _,
};

use super::commands::{self, Client, Identity, LoginState, Outcome, Refusal};
use super::provider::{chain, Provider, Unreachable};
use crate::auth::tokens::IssuedTokens;
use crate::error::AppError;
use crate::web::AppState;

/// Why a single sign-on did not log anyone in.
#[derive(Debug)]
pub enum Failure {
    /// The provider could not be reached (503): password login still works.
    Unreachable,
    /// Refused, and audited as a failed login.
    Refused(Refusal),
    Internal(AppError),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::Internal(e)
    }
}

impl From<Unreachable> for Failure {
    fn from(e: Unreachable) -> Self {
        tracing::warn!(error = %e.0, "the OpenID provider could not be reached");
        Failure::Unreachable
    }
}

/// A login sent to the provider: where the browser goes, and the state it must bring back.
pub struct Begun {
    pub url: String,
    pub state: String,
}

/// The redirect URI registered at the provider.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/login/sso/callback", state.config.public_url)
}

/// Starts a login: a fresh state, nonce and PKCE verifier, remembered in the database (every
/// instance can finish it), and the provider's authorization URL.
pub async fn begin(
    state: &AppState,
    provider: &Provider,
    next: Option<String>,
) -> Result<Begun, Failure> {
    let metadata = provider.metadata().await?;
    let redirect_uri = redirect_uri(state);
    let client = provider.client(metadata, &redirect_uri)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in provider.config.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, csrf, nonce) = request.url();
    let saved = LoginState {
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        redirect_uri,
        next_path: next,
    };
    let hash = crate::crypto::sha256(csrf.secret().as_bytes());
    let clock = state.clock.clone();
    crate::db::run(&state.pool, move |conn| {
        commands::save_state(conn, &hash, &saved, clock.now())
    })
    .await?;
    Ok(Begun {
        url: url.to_string(),
        state: csrf.secret().clone(),
    })
}

/// What the provider sent the browser back with.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

pub struct Finished {
    pub tokens: IssuedTokens,
    pub next: Option<String>,
}

fn refusal(status: u16, message: &str) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// Audits a refusal found before the person is known, and returns it.
async fn refuse(
    state: &AppState,
    client: &Client,
    reason: String,
    r: Refusal,
) -> Result<Finished, Failure> {
    let client = client.clone();
    crate::db::run(&state.pool, move |conn| {
        commands::record_failure(conn, &reason, None, None, &client)
    })
    .await?;
    Err(Failure::Refused(r))
}

const START_AGAIN: &str = "This sign-in link is not valid (used already, expired, or begun in another browser). Go back to the login page and sign in again.";
const TOKEN_REFUSED: &str = "The sign-in provider's answer could not be verified, so you are not logged in. Go back to the login page and try again; ask an Admin if it keeps happening.";

/// Finishes a login: `browser_state` is the state this browser was given by `begin` (from
/// its session cookie).
pub async fn finish(
    state: &AppState,
    provider: &Provider,
    cb: Callback,
    browser_state: Option<String>,
    client: Client,
) -> Result<Finished, Failure> {
    let Some(returned) = cb.state.filter(|s| !s.is_empty() && s.len() <= 512) else {
        return refuse(state, &client, "no state".into(), refusal(400, START_AGAIN)).await;
    };
    let hash = crate::crypto::sha256(returned.as_bytes());
    let clock = state.clock.clone();
    let saved = crate::db::run(&state.pool, move |conn| {
        commands::take_state(conn, &hash, clock.now())
    })
    .await?;
    let Some(saved) = saved else {
        let reason = "state unknown, already used or expired".into();
        return refuse(state, &client, reason, refusal(400, START_AGAIN)).await;
    };
    let same_browser = browser_state
        .as_deref()
        .is_some_and(|b| crate::crypto::constant_time_eq(b.as_bytes(), returned.as_bytes()));
    if !same_browser {
        let reason = "state begun in another browser".into();
        return refuse(state, &client, reason, refusal(400, START_AGAIN)).await;
    }
    if let Some(error) = cb.error {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect();
        let described: String = cb
            .error_description
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let reason = format!("the provider answered {error}: {described}");
        let message = format!("The sign-in provider did not sign you in ({error}). Go back to the login page and try again.");
        return refuse(state, &client, reason, refusal(403, &message)).await;
    }
    let Some(code) = cb.code.filter(|c| !c.is_empty()) else {
        return refuse(state, &client, "no code".into(), refusal(400, START_AGAIN)).await;
    };

    let mut metadata = provider.metadata().await?;
    let oidc = provider.client(metadata.clone(), &saved.redirect_uri)?;
    let exchanged = oidc
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| AppError::internal(format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(saved.pkce_verifier.clone()))
        .request_async(provider.http())
        .await;
    let response = match exchanged {
        Ok(r) => r,
        Err(RequestTokenError::Request(e)) => return Err(Unreachable(chain(&e)).into()),
        Err(e) => {
            let reason = format!("the code was not accepted: {}", chain(&e));
            return refuse(state, &client, reason, refusal(401, TOKEN_REFUSED)).await;
        }
    };
    let Some(id_token) = response.id_token().cloned() else {
        let reason = "no ID token in the token response".into();
        return refuse(state, &client, reason, refusal(401, TOKEN_REFUSED)).await;
    };
    let nonce = Nonce::new(saved.nonce.clone());
    let clock = state.clock.clone();
    let mut refreshed = false;
    let identity = loop {
        let oidc = provider.client(metadata.clone(), &saved.redirect_uri)?;
        let clock = clock.clone();
        let verifier = oidc
            .id_token_verifier()
            .set_allowed_algs(asymmetric())
            .set_time_fn(move || clock.now());
        match id_token.claims(&verifier, &nonce) {
            Ok(claims) => break identity_of(claims, &id_token, provider),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if !refreshed => {
                refreshed = true;
                metadata = provider.refresh_keys(metadata).await?;
            }
            Err(e) => {
                let reason = format!("ID token refused: {e}");
                return refuse(state, &client, reason, refusal(401, TOKEN_REFUSED)).await;
            }
        }
    };

    let cfg = provider.config.clone();
    let keys = state.keys.clone();
    let links = crate::auth::links::LinkSettings::from_state(state)?;
    let outcome = crate::db::run(&state.pool, move |conn| {
        commands::login(conn, &cfg, &keys, &identity, &client, &links)
    })
    .await?;
    match outcome {
        Outcome::LoggedIn(tokens) => Ok(Finished {
            tokens,
            next: saved.next_path,
        }),
        Outcome::Refused(r) => Err(Failure::Refused(r)),
    }
}

/// Signatures by the provider's published keys only: no `none`, no HMAC with the client
/// secret.
fn asymmetric() -> [CoreJwsSigningAlgorithm; 10] {
    use CoreJwsSigningAlgorithm as A;
    [
        A::RsaSsaPkcs1V15Sha256,
        A::RsaSsaPkcs1V15Sha384,
        A::RsaSsaPkcs1V15Sha512,
        A::RsaSsaPssSha256,
        A::RsaSsaPssSha384,
        A::RsaSsaPssSha512,
        A::EcdsaP256Sha256,
        A::EcdsaP384Sha384,
        A::EcdsaP521Sha512,
        A::EdDsa,
    ]
}

fn identity_of(
    claims: &openidconnect::core::CoreIdTokenClaims,
    id_token: &openidconnect::core::CoreIdToken,
    provider: &Provider,
) -> Identity {
    let groups = provider
        .config
        .groups_claim
        .as_deref()
        .map(|claim| groups_of(id_token, claim))
        .unwrap_or_default();
    Identity {
        issuer: claims.issuer().as_str().to_string(),
        subject: claims.subject().as_str().to_string(),
        email: claims.email().map(|e| e.as_str().trim().to_lowercase()),
        // No claim at all (Entra ID): only as verified as the configuration says.
        email_verified: claims
            .email_verified()
            .unwrap_or(provider.config.trust_email),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
        groups,
    }
}

/// The groups listed in `claim` of an ID token already verified: its payload read again
/// as JSON (the typed claims know only the standard ones).
fn groups_of(id_token: &openidconnect::core::CoreIdToken, claim: &str) -> Vec<String> {
    use base64::Engine as _;
    let compact = serde_json::to_value(id_token)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let payload = compact
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    match payload.as_ref().and_then(|p| p.get(claim)) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|g| g.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}
