//! A client of an external schema registry with Confluent's REST API
//! (Confluent's own, Karapace, Apicurio's compatible API, or another
//! Sluice), implementing [`SchemaRegistry`] by calling it: errors come back
//! with the registry's own code and message.

use super::{
    codes, Compatibility, RegisteredSchema, RegistryError, Schema, SchemaReference, SchemaRegistry,
    SchemaType, VersionSpec,
};
use crate::error::{Error, Result};
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value as Json};
use std::time::Duration;

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A registry reached over HTTP.
pub struct HttpRegistry {
    base: String,
    auth: Option<String>,
    agent: ureq::Agent,
}

fn seg(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

fn version_seg(v: VersionSpec) -> String {
    match v {
        VersionSpec::Latest => "latest".into(),
        VersionSpec::Number(n) => n.to_string(),
    }
}

fn unreachable(base: &str, e: impl std::fmt::Display) -> Error {
    Error::Registry(RegistryError::new(
        codes::STORE_ERROR,
        format!("could not reach the schema registry at {base}: {e}"),
    ))
}

fn malformed(what: &str, body: &Json) -> Error {
    Error::Registry(RegistryError::new(
        codes::STORE_ERROR,
        format!("the schema registry answered {what} with {body}"),
    ))
}

/// The request body of a schema.
pub(super) fn schema_body(schema: &Schema) -> Json {
    let mut body = json!({"schema": schema.schema});
    if schema.schema_type != SchemaType::Avro {
        body["schemaType"] = json!(schema.schema_type.name());
    }
    if !schema.references.is_empty() {
        body["references"] = Json::Array(
            schema
                .references
                .iter()
                .map(|r| json!({"name": r.name, "subject": r.subject, "version": r.version}))
                .collect(),
        );
    }
    body
}

/// A schema from a response (or request) body.
pub(super) fn schema_from(body: &Json) -> Result<Schema> {
    let text = body
        .get("schema")
        .and_then(Json::as_str)
        .ok_or_else(|| malformed("a schema", body))?;
    let schema_type = match body.get("schemaType").and_then(Json::as_str) {
        Some(t) => SchemaType::parse(t)?,
        None => SchemaType::Avro,
    };
    let mut references = Vec::new();
    for r in body
        .get("references")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let field = |k: &str| r.get(k).ok_or_else(|| malformed("a reference", r));
        references.push(SchemaReference {
            name: field("name")?.as_str().unwrap_or_default().to_string(),
            subject: field("subject")?.as_str().unwrap_or_default().to_string(),
            version: field("version")?
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| malformed("a reference", r))?,
        });
    }
    Ok(Schema {
        schema_type,
        schema: text.to_string(),
        references,
    })
}

fn registered(body: &Json) -> Result<RegisteredSchema> {
    let num = |k: &str| body.get(k).and_then(Json::as_i64);
    Ok(RegisteredSchema {
        subject: body
            .get("subject")
            .and_then(Json::as_str)
            .ok_or_else(|| malformed("a version", body))?
            .to_string(),
        version: num("version")
            .and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| malformed("a version", body))?,
        id: num("id")
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| malformed("a version", body))?,
        schema: schema_from(body)?,
    })
}

fn ints(body: &Json) -> Result<Vec<i32>> {
    body.as_array()
        .ok_or_else(|| malformed("a list of versions", body))?
        .iter()
        .map(|v| {
            v.as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| malformed("a list of versions", body))
        })
        .collect()
}

impl HttpRegistry {
    /// A client of the registry at `url` (`http://` or `https://`), with
    /// `user:password` for basic authentication.
    pub fn new(url: &str, user_info: Option<&str>) -> Result<HttpRegistry> {
        // A list of URLs may be given, as Confluent's clients take it: the
        // first is used.
        let base = url
            .split(',')
            .next()
            .unwrap_or(url)
            .trim()
            .trim_end_matches('/')
            .to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::plan(format!(
                "ksql.schema.registry.url must start with http:// or https://: {url}"
            )));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let auth = user_info.map(|u| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(u)
            )
        });
        Ok(HttpRegistry { base, auth, agent })
    }

    /// Calls the registry: the answer's JSON, or its error as Confluent's
    /// code and message.
    fn call(&self, method: &str, path: &str, body: Option<&Json>) -> Result<Json> {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Accept", CONTENT_TYPE);
        if let Some(auth) = &self.auth {
            req = req.header("Authorization", auth);
        }
        let resp = match body {
            Some(b) => {
                let req = req
                    .header("Content-Type", CONTENT_TYPE)
                    .body(b.to_string())
                    .map_err(|e| unreachable(&self.base, e))?;
                self.agent.run(req)
            }
            None => {
                let req = req.body(()).map_err(|e| unreachable(&self.base, e))?;
                self.agent.run(req)
            }
        }
        .map_err(|e| unreachable(&self.base, e))?;
        let status = resp.status().as_u16();
        let text = resp
            .into_body()
            .read_to_string()
            .map_err(|e| unreachable(&self.base, e))?;
        let json: Json = serde_json::from_str(&text).unwrap_or(Json::String(text));
        if (200..300).contains(&status) {
            return Ok(json);
        }
        let code = json
            .get("error_code")
            .and_then(Json::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(u32::from(status));
        let message = json
            .get("message")
            .and_then(Json::as_str)
            .map_or_else(|| format!("HTTP {status}: {json}"), str::to_string);
        Err(Error::Registry(RegistryError::new(code, message)))
    }

    fn deleted(deleted: bool) -> &'static str {
        if deleted {
            "?deleted=true"
        } else {
            ""
        }
    }
}

impl SchemaRegistry for HttpRegistry {
    fn subjects(&self, deleted: bool) -> Result<Vec<String>> {
        let body = self.call("GET", &format!("/subjects{}", Self::deleted(deleted)), None)?;
        body.as_array()
            .ok_or_else(|| malformed("/subjects", &body))?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| malformed("/subjects", &body))
            })
            .collect()
    }

    fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>> {
        let path = format!(
            "/subjects/{}/versions{}",
            seg(subject),
            Self::deleted(deleted)
        );
        ints(&self.call("GET", &path, None)?)
    }

    fn version(
        &self,
        subject: &str,
        version: VersionSpec,
        deleted: bool,
    ) -> Result<RegisteredSchema> {
        let path = format!(
            "/subjects/{}/versions/{}{}",
            seg(subject),
            version_seg(version),
            Self::deleted(deleted)
        );
        registered(&self.call("GET", &path, None)?)
    }

    fn register(&self, subject: &str, schema: &Schema) -> Result<u32> {
        let path = format!("/subjects/{}/versions", seg(subject));
        let body = self.call("POST", &path, Some(&schema_body(schema)))?;
        body.get("id")
            .and_then(Json::as_u64)
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| malformed("a registration", &body))
    }

    fn lookup(&self, subject: &str, schema: &Schema, deleted: bool) -> Result<RegisteredSchema> {
        let path = format!("/subjects/{}{}", seg(subject), Self::deleted(deleted));
        registered(&self.call("POST", &path, Some(&schema_body(schema)))?)
    }

    fn schema_by_id(&self, id: u32) -> Result<Schema> {
        schema_from(&self.call("GET", &format!("/schemas/ids/{id}"), None)?)
    }

    fn id_versions(&self, id: u32) -> Result<Vec<(String, i32)>> {
        let body = self.call("GET", &format!("/schemas/ids/{id}/versions"), None)?;
        body.as_array()
            .ok_or_else(|| malformed("the versions of an id", &body))?
            .iter()
            .map(|p| {
                let subject = p.get("subject").and_then(Json::as_str);
                let version = p
                    .get("version")
                    .and_then(Json::as_i64)
                    .and_then(|v| i32::try_from(v).ok());
                match (subject, version) {
                    (Some(s), Some(v)) => Ok((s.to_string(), v)),
                    _ => Err(malformed("the versions of an id", &body)),
                }
            })
            .collect()
    }

    fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>> {
        let path = format!(
            "/subjects/{}{}",
            seg(subject),
            if permanent { "?permanent=true" } else { "" }
        );
        ints(&self.call("DELETE", &path, None)?)
    }

    fn delete_version(&self, subject: &str, version: VersionSpec, permanent: bool) -> Result<i32> {
        let path = format!(
            "/subjects/{}/versions/{}{}",
            seg(subject),
            version_seg(version),
            if permanent { "?permanent=true" } else { "" }
        );
        let body = self.call("DELETE", &path, None)?;
        body.as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| malformed("a version delete", &body))
    }

    fn compatibility(&self, subject: Option<&str>) -> Result<Option<Compatibility>> {
        let path = match subject {
            Some(s) => format!("/config/{}", seg(s)),
            None => "/config".into(),
        };
        let body = match self.call("GET", &path, None) {
            Err(Error::Registry(e))
                if subject.is_some()
                    && (e.code == codes::SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED
                        || e.code == codes::SUBJECT_NOT_FOUND) =>
            {
                return Ok(None)
            }
            other => other?,
        };
        let level = body
            .get("compatibilityLevel")
            .or_else(|| body.get("compatibility"))
            .and_then(Json::as_str)
            .ok_or_else(|| malformed("a config", &body))?;
        Ok(Some(Compatibility::parse(level)?))
    }

    fn set_compatibility(&self, subject: Option<&str>, level: Compatibility) -> Result<()> {
        let path = match subject {
            Some(s) => format!("/config/{}", seg(s)),
            None => "/config".into(),
        };
        self.call("PUT", &path, Some(&json!({"compatibility": level.name()})))?;
        Ok(())
    }

    fn delete_compatibility(&self, subject: Option<&str>) -> Result<Compatibility> {
        let path = match subject {
            Some(s) => format!("/config/{}", seg(s)),
            None => "/config".into(),
        };
        let body = self.call("DELETE", &path, None)?;
        let level = body
            .get("compatibilityLevel")
            .or_else(|| body.get("compatibility"))
            .and_then(Json::as_str)
            .ok_or_else(|| malformed("a config delete", &body))?;
        Compatibility::parse(level)
    }

    fn check_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSpec>,
        schema: &Schema,
    ) -> Result<Vec<String>> {
        let path = match version {
            Some(v) => format!(
                "/compatibility/subjects/{}/versions/{}?verbose=true",
                seg(subject),
                version_seg(v)
            ),
            None => format!(
                "/compatibility/subjects/{}/versions?verbose=true",
                seg(subject)
            ),
        };
        let body = self.call("POST", &path, Some(&schema_body(schema)))?;
        if body.get("is_compatible").and_then(Json::as_bool) == Some(true) {
            return Ok(Vec::new());
        }
        let messages: Vec<String> = body
            .get("messages")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(str::to_string))
            .collect();
        Ok(if messages.is_empty() {
            vec!["the registry found the schema incompatible".into()]
        } else {
            messages
        })
    }
}
