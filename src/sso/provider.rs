//! The OpenID provider as PortalOps sees it: its discovery document (fetched lazily at the
//! first login and reused for `PORTALOPS_OIDC_DISCOVERY_TTL`), its signing keys (fetched again
//! once when an ID token names a key they lack: key rotation), and the HTTP client that talks
//! to it, which follows no redirects (the `openidconnect` crate's advice against SSRF).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{reqwest, ClientId, ClientSecret, IssuerUrl, JsonWebKeySet, RedirectUrl};

use crate::config::SsoConfig;
use crate::error::AppError;

/// The provider did not answer, or answered with something that is not a discovery
/// document or a key set; the text (for the log) says which.
#[derive(Debug)]
pub struct Unreachable(pub String);

/// The configured provider, shared by every worker of this instance.
pub struct Provider {
    pub config: SsoConfig,
    http: reqwest::Client,
    cached: Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

/// A client of the provider, as `openidconnect` builds it from the discovery document.
pub type Client = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

impl Provider {
    pub fn new(config: SsoConfig) -> Result<Self, AppError> {
        let http = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| AppError::internal(format!("OpenID Connect HTTP client: {e}")))?;
        Ok(Self {
            config,
            http,
            cached: Mutex::new(None),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The discovery document with its keys: cached, or fetched now.
    pub async fn metadata(&self) -> Result<CoreProviderMetadata, Unreachable> {
        if let Ok(guard) = self.cached.lock() {
            if let Some((m, at)) = guard.as_ref() {
                if at.elapsed() < self.config.discovery_ttl {
                    return Ok(m.clone());
                }
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| Unreachable(format!("issuer URL: {e}")))?;
        let m = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| Unreachable(format!("discovery: {}", chain(&e))))?;
        self.store(&m);
        Ok(m)
    }

    /// Fetches the provider's keys again (an ID token was signed by a key the cached set
    /// lacks: the provider rotated its keys) and caches the result.
    pub async fn refresh_keys(
        &self,
        m: CoreProviderMetadata,
    ) -> Result<CoreProviderMetadata, Unreachable> {
        let jwks = JsonWebKeySet::fetch_async(m.jwks_uri(), &self.http)
            .await
            .map_err(|e| Unreachable(format!("keys: {}", chain(&e))))?;
        let m = m.set_jwks(jwks);
        self.store(&m);
        Ok(m)
    }

    fn store(&self, m: &CoreProviderMetadata) {
        if let Ok(mut guard) = self.cached.lock() {
            *guard = Some((m.clone(), Instant::now()));
        }
    }

    /// The client for this metadata, sending the browser back to `redirect_uri`.
    pub fn client(&self, m: CoreProviderMetadata, redirect_uri: &str) -> Result<Client, AppError> {
        let secret = String::from_utf8_lossy(self.config.client_secret.expose()).into_owned();
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| AppError::internal(format!("redirect URI: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            m,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(redirect))
    }
}

/// An error with its causes, on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
