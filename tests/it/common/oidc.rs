//! A real OpenID provider on loopback for the single sign-on tests: panva's certified
//! `oidc-provider`, run by tests/oidc/provider.mjs (its packages installed by
//! scripts/install-deps.sh), with the development login page any password passes.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use super::client::{Client, Resp};

/// The client id and secret PortalOps is registered with in the tests.
pub const CLIENT_ID: &str = "portalops";
pub const CLIENT_SECRET: &str = "portalops-test-client-secret";

pub struct OidcProvider {
    child: Child,
    pub issuer: String,
    dir: tempfile::TempDir,
}

/// An account at the provider.
pub fn account(sub: &str, email: &str, verified: bool, groups: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "sub": sub,
        "email": email,
        "email_verified": verified,
        "name": format!("{sub} at the provider"),
        "groups": groups,
    })
}

impl OidcProvider {
    /// A provider on a free port (its issuer is known before the apps that use it start:
    /// they discover it at their first login). `clients`: (client id, secret, redirect URIs).
    pub fn start(
        port: u16,
        clients: &[(&str, &str, Vec<String>)],
        accounts: &[serde_json::Value],
    ) -> Self {
        let dir = tempfile::tempdir().expect("provider dir");
        let config = serde_json::json!({
            "port": port,
            "clients": clients.iter().map(|(id, secret, uris)| serde_json::json!({
                "client_id": id, "client_secret": secret, "redirect_uris": uris,
            })).collect::<Vec<_>>(),
            "accounts": accounts,
        });
        std::fs::write(dir.path().join("config.json"), config.to_string()).expect("config");
        let child = spawn(&dir);
        Self {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
            dir,
        }
    }

    /// Stops the provider and starts it again on the same port: it signs with a new key
    /// (a new key id) from now on, as after a key rotation.
    pub fn restart(&mut self) {
        stop(&mut self.child);
        self.child = spawn(&self.dir);
    }

    fn admin(&self) -> Client {
        Client::new(&self.issuer)
    }

    /// Changes (or adds) an account, as an administrator of the provider would.
    pub async fn set_account(&self, account: serde_json::Value) {
        let sub = account["sub"].as_str().expect("sub").to_string();
        let r = self
            .admin()
            .api(
                "PUT",
                &format!("/__test/accounts/{sub}"),
                None,
                Some(account),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// The next ID token carries these claims instead (signed with the provider's key).
    pub async fn forge_next_id_token(&self, claims: serde_json::Value) {
        let r = self
            .admin()
            .api("POST", "/__test/forge", None, Some(claims))
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// Starts a single sign-on at the app with `app` (its cookies kept), signs in at the
    /// provider as `sub` on its login page, and returns the URL the provider sends the
    /// browser back to (the app's callback, not yet visited) as a path with its query.
    pub async fn authorize(&self, app: &Client, app_base: &str, sub: &str) -> String {
        let start = app.get("/login/sso").await;
        assert_eq!(start.status, 303, "start: {}", start.body);
        self.sign_in(&start.location(), app_base, sub).await
    }

    /// Follows the provider's pages from `url` (its authorization URL) as a browser would,
    /// logging in as `sub`, until it redirects back to `app_base`.
    pub async fn sign_in(&self, url: &str, app_base: &str, sub: &str) -> String {
        let browser = Client::new(&self.issuer);
        let mut next = url
            .strip_prefix(&self.issuer)
            .unwrap_or_else(|| panic!("{url} is not at the provider {}", self.issuer))
            .to_string();
        for _ in 0..10 {
            let r: Resp = browser.get(&next).await;
            let location = r.location();
            if let Some(back) = location.strip_prefix(app_base) {
                return back.to_string();
            }
            match r.status {
                302 | 303 => {
                    next = location
                        .strip_prefix(&self.issuer)
                        .unwrap_or(&location)
                        .to_string()
                }
                200 => {
                    let re = regex_lite::Regex::new(
                        r#"action="(?:http://[^/"]+)?(/interaction/[^"]+)""#,
                    )
                    .expect("regex");
                    let action = re
                        .captures(&r.body)
                        .map(|c| c[1].to_string())
                        .unwrap_or_else(|| panic!("no login form at {next}: {}", r.body));
                    let posted = browser
                        .post_raw(
                            &action,
                            &[("prompt", "login"), ("login", sub), ("password", "any")],
                            &[],
                        )
                        .await;
                    assert!(
                        matches!(posted.status, 302 | 303),
                        "login at the provider: {} {}",
                        posted.status,
                        posted.body
                    );
                    let l = posted.location();
                    next = l.strip_prefix(&self.issuer).unwrap_or(&l).to_string();
                }
                s => panic!("the provider answered {s} at {next}: {}", r.body),
            }
        }
        panic!("the provider never sent the browser back to {app_base}");
    }
}

fn spawn(dir: &tempfile::TempDir) -> Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc/provider.mjs");
    let modules = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc/node_modules");
    assert!(
        std::path::Path::new(modules).is_dir(),
        "the test OpenID provider is not installed: run scripts/install-deps.sh (npm ci in tests/oidc)"
    );
    let mut child = Command::new("node")
        .arg(script)
        .arg(dir.path().join("config.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node is not installed: run scripts/install-deps.sh");
    let mut line = String::new();
    let out = child.stdout.take().expect("stdout");
    BufReader::new(out)
        .read_line(&mut line)
        .expect("provider output");
    assert!(
        line.starts_with("listening"),
        "the provider did not start: {line:?}"
    );
    child
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}
