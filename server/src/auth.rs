//! HTTP basic authentication, configured as in ksqlDB:
//! `authentication.method=BASIC` with the users in a Jetty
//! `HashLoginService` properties file (`user: password[,role...]` a line),
//! named by `authentication.basic.users.file` or found through the JAAS
//! file that `java.security.auth.login.config` names (its
//! `PropertyFileLoginModule`'s `file="..."` option in the realm's section).
//!
//! Every request needs valid credentials except those to the paths in
//! `authentication.skip.paths` (by default `/healthcheck` and `/info`);
//! `authentication.roles` (default `*`, any role) lists the roles a user
//! needs one of. Others get 401 with a `WWW-Authenticate` challenge and
//! ksqlDB's `Unauthorized` error. Passwords are plain or `MD5:`-hashed and
//! are compared in constant time.

use crate::error::ServerError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use md5::{Digest, Md5};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The realm of the `WWW-Authenticate` challenge when none is configured.
pub const DEFAULT_REALM: &str = "KsqlServer-Props";

/// The paths open without credentials when `authentication.skip.paths`
/// is not set.
pub const DEFAULT_SKIP_PATHS: &[&str] = &["/healthcheck", "/info"];

/// ksqlDB's error code for missing or wrong credentials.
pub const UNAUTHORIZED: u32 = 40100;

/// A user's password as stored in the users file.
#[derive(Clone)]
enum Password {
    /// In clear.
    Plain(Vec<u8>),
    /// `MD5:` and the hex of the password's MD5 digest.
    Md5([u8; 16]),
}

/// A user the server admits.
#[derive(Clone)]
struct User {
    password: Password,
    roles: Vec<String>,
}

/// Who may call the server: the users, the roles they need and the paths
/// open to all.
#[derive(Clone)]
pub struct BasicAuth {
    users: HashMap<String, User>,
    /// Roles a user needs one of; empty: any user.
    roles: Vec<String>,
    /// Paths served without credentials; a trailing `*` matches a prefix.
    skip_paths: Vec<String>,
    challenge: HeaderValue,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("users", &self.users.len())
            .field("roles", &self.roles)
            .field("skip_paths", &self.skip_paths)
            .finish()
    }
}

fn config_error(message: impl Into<String>) -> ServerError {
    ServerError::Config(message.into())
}

impl BasicAuth {
    /// Basic authentication as `settings` (a properties file's, later
    /// entries winning) configure it, or `None` when
    /// `authentication.method` is unset or `NONE`.
    pub fn from_settings(settings: &HashMap<String, String>) -> Result<Option<Self>, ServerError> {
        let method = settings
            .get("authentication.method")
            .map(|m| m.trim().to_ascii_uppercase())
            .unwrap_or_default();
        match method.as_str() {
            "" | "NONE" => return Ok(None),
            "BASIC" => {}
            other => {
                return Err(config_error(format!(
                    "authentication.method={other} is not supported (BASIC or NONE)"
                )))
            }
        }
        let realm = settings
            .get("authentication.realm")
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
            .unwrap_or(DEFAULT_REALM);
        let users_file = match settings.get("authentication.basic.users.file") {
            Some(file) => file.trim().to_string(),
            None => match settings.get("java.security.auth.login.config") {
                Some(jaas) => users_file_from_jaas(Path::new(jaas.trim()), realm)?,
                None => {
                    return Err(config_error(
                        "authentication.method=BASIC needs authentication.basic.users.file \
                         (or java.security.auth.login.config) naming the users file",
                    ))
                }
            },
        };
        let text = std::fs::read_to_string(&users_file)
            .map_err(|e| config_error(format!("reading users file {users_file}: {e}")))?;
        let users = parse_users(&text).map_err(|e| config_error(format!("{users_file}: {e}")))?;
        let roles = settings
            .get("authentication.roles")
            .map(|r| list(r))
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r != "*")
            .collect();
        let skip_paths = match settings.get("authentication.skip.paths") {
            Some(paths) => list(paths),
            None => DEFAULT_SKIP_PATHS.iter().map(|p| p.to_string()).collect(),
        };
        let challenge = HeaderValue::from_str(&format!("Basic realm=\"{realm}\""))
            .map_err(|_| config_error(format!("authentication.realm '{realm}' is not a header")))?;
        Ok(Some(BasicAuth {
            users,
            roles,
            skip_paths,
            challenge,
        }))
    }

    /// Whether `path` is served without credentials.
    pub fn skips(&self, path: &str) -> bool {
        self.skip_paths.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => p == path,
        })
    }

    /// Whether an `Authorization` header names a user with the right
    /// password and a role the server requires.
    pub fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = authorization.and_then(credentials) else {
            return false;
        };
        match self.users.get(&user) {
            Some(known) => {
                let password_ok = known.password.matches(password.as_bytes());
                let role_ok =
                    self.roles.is_empty() || known.roles.iter().any(|r| self.roles.contains(r));
                password_ok && role_ok
            }
            None => {
                // As much work as for a known user, so timing does not tell
                // which users exist.
                let _ = Password::Plain(Vec::new()).matches(password.as_bytes());
                false
            }
        }
    }

    /// The 401 answer: the challenge and ksqlDB's error body.
    pub fn unauthorized(&self) -> Response {
        let body = serde_json::json!({
            "@type": "generic_error",
            "error_code": UNAUTHORIZED,
            "message": "Unauthorized",
        });
        let mut response = (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, self.challenge.clone());
        response
    }
}

/// How much of a turned-away request's body is read before answering.
const DISCARD_LIMIT: usize = 1 << 20;

/// How long reading a turned-away request's body may take.
const DISCARD_TIME: Duration = Duration::from_secs(2);

/// The middleware: passes on requests that are admitted or to an open
/// path, answers the others 401.
pub async fn require(State(auth): State<Arc<BasicAuth>>, request: Request, next: Next) -> Response {
    if auth.skips(request.uri().path()) || auth.admits(request.headers().get(header::AUTHORIZATION))
    {
        return next.run(request).await;
    }
    // Read (a bounded part of) the body first: answering an HTTP/2 request
    // whose body is still coming resets its stream, and clients such as
    // curl then report the reset instead of the 401.
    let body = request.into_body();
    let _ = tokio::time::timeout(DISCARD_TIME, axum::body::to_bytes(body, DISCARD_LIMIT)).await;
    auth.unauthorized()
}

/// (user, password) from `Basic base64(user:password)`.
fn credentials(header: &HeaderValue) -> Option<(String, String)> {
    let text = header.to_str().ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

impl Password {
    fn parse(text: &str) -> Result<Password, String> {
        if let Some(hex) = text.strip_prefix("MD5:") {
            let digest = hex::decode(hex.trim())
                .ok()
                .and_then(|d| <[u8; 16]>::try_from(d).ok())
                .ok_or_else(|| "MD5: needs the 32 hex digits of a digest".to_string())?;
            return Ok(Password::Md5(digest));
        }
        for prefix in ["CRYPT:", "OBF:"] {
            if text.starts_with(prefix) {
                return Err(format!(
                    "{prefix} passwords are not supported: store them plain or as MD5:"
                ));
            }
        }
        Ok(Password::Plain(text.as_bytes().to_vec()))
    }

    fn matches(&self, given: &[u8]) -> bool {
        match self {
            Password::Plain(stored) => constant_time_eq(stored, given),
            Password::Md5(stored) => constant_time_eq(stored, &Md5::digest(given)),
        }
    }
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths
/// only, not on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// A comma-separated list, trimmed, empty items dropped.
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The users of a `HashLoginService` properties file: `user: password`
/// or `user = password`, then `,role` for each role; `#` and `!` start
/// comments.
fn parse_users(text: &str) -> Result<HashMap<String, User>, String> {
    let mut users = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(at) = line.find([':', '=']) else {
            return Err(format!(
                "line {}: expected 'user: password[,role...]'",
                i + 1
            ));
        };
        let user = line[..at].trim();
        let mut fields = line[at + 1..].split(',');
        let password = fields.next().unwrap_or_default().trim();
        if user.is_empty() {
            return Err(format!("line {}: no user name", i + 1));
        }
        let password = Password::parse(password).map_err(|e| format!("line {}: {e}", i + 1))?;
        let roles = fields
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        users.insert(user.to_string(), User { password, roles });
    }
    if users.is_empty() {
        return Err("no users".to_string());
    }
    Ok(users)
}

/// The users file of the `PropertyFileLoginModule` in `realm`'s section of
/// a JAAS configuration file.
fn users_file_from_jaas(path: &Path, realm: &str) -> Result<String, ServerError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| config_error(format!("reading JAAS file {}: {e}", path.display())))?;
    let missing = || {
        config_error(format!(
            "{}: no section '{realm} {{ ... file=\"USERS FILE\" ... }};'",
            path.display()
        ))
    };
    let mut rest = text.as_str();
    let section = loop {
        let at = rest.find(realm).ok_or_else(missing)?;
        let after = rest[at + realm.len()..].trim_start();
        if let Some(body) = after.strip_prefix('{') {
            break body.split("};").next().unwrap_or_default();
        }
        rest = &rest[at + realm.len()..];
    };
    let at = section.find("file").ok_or_else(missing)?;
    let value = section[at + "file".len()..]
        .trim_start()
        .strip_prefix('=')
        .map(str::trim_start)
        .and_then(|v| v.strip_prefix('"'))
        .and_then(|v| v.split('"').next())
        .ok_or_else(missing)?;
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    fn auth(users: &str, extra: &[(&str, &str)]) -> BasicAuth {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.properties");
        std::fs::write(&file, users).unwrap();
        let mut settings: HashMap<String, String> = [
            ("authentication.method", "BASIC"),
            ("authentication.basic.users.file", file.to_str().unwrap()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            settings.insert(k.to_string(), v.to_string());
        }
        BasicAuth::from_settings(&settings).unwrap().unwrap()
    }

    #[test]
    fn plain_and_md5_passwords() {
        let a = auth(
            "# users\nfred: letmein,admin\nbarney = MD5:5f4dcc3b5aa765d61d8327deb882cf99\n",
            &[],
        );
        assert!(a.admits(Some(&header("fred", "letmein"))));
        assert!(!a.admits(Some(&header("fred", "letmein2"))));
        assert!(!a.admits(Some(&header("fred", ""))));
        assert!(a.admits(Some(&header("barney", "password"))));
        assert!(!a.admits(Some(&header(
            "barney",
            "MD5:5f4dcc3b5aa765d61d8327deb882cf99"
        ))));
        assert!(!a.admits(Some(&header("wilma", "letmein"))));
        assert!(!a.admits(None));
        assert!(!a.admits(Some(&HeaderValue::from_static("Bearer x"))));
    }

    #[test]
    fn roles_and_skip_paths() {
        let a = auth(
            "fred: a,admin\nbarney: b,user\n",
            &[("authentication.roles", "admin")],
        );
        assert!(a.admits(Some(&header("fred", "a"))));
        assert!(!a.admits(Some(&header("barney", "b"))));
        assert!(a.skips("/info") && a.skips("/healthcheck") && !a.skips("/ksql"));
        let b = auth(
            "fred: a\n",
            &[("authentication.skip.paths", "/status/*, /ksql")],
        );
        assert!(b.skips("/status/x") && b.skips("/ksql") && !b.skips("/info"));
    }

    #[test]
    fn unsupported_passwords_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users");
        std::fs::write(&file, "fred: CRYPT:adpexzg3FUZAk,admin\n").unwrap();
        let settings: HashMap<String, String> = [
            ("authentication.method", "BASIC"),
            ("authentication.basic.users.file", file.to_str().unwrap()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let err = BasicAuth::from_settings(&settings).unwrap_err().to_string();
        assert!(err.contains("CRYPT: passwords are not supported"), "{err}");
    }

    #[test]
    fn users_file_through_jaas() {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        std::fs::write(&users, "fred: letmein\n").unwrap();
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            format!(
                "KsqlServer-Props {{\n  org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required\n  file=\"{}\"\n  debug=\"false\";\n}};\n",
                users.display()
            ),
        )
        .unwrap();
        let settings: HashMap<String, String> = [
            ("authentication.method", "BASIC"),
            ("java.security.auth.login.config", jaas.to_str().unwrap()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let a = BasicAuth::from_settings(&settings).unwrap().unwrap();
        assert!(a.admits(Some(&header("fred", "letmein"))));
    }

    #[test]
    fn no_method_no_auth() {
        assert!(BasicAuth::from_settings(&HashMap::new()).unwrap().is_none());
    }
}
