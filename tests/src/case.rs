//! Loading ksqlDB's QTT/RQTT case files into [`Case`]s.
//!
//! A file is `{"tests": [CASE, ...]}` with optional `//` line comments
//! outside strings. A case with a `format` list becomes one case per entry
//! (named `"<name> - <FORMAT>"`, `{FORMAT}` replaced in its statements); a
//! `config` list does the same for `{CONFIG}` in its properties. A case that
//! cannot be understood is kept, with the reason, so it can be reported as a
//! failure instead of silently vanishing.

use base64::Engine as _;
use serde_json::{Map, Value as Json};
use std::path::{Path, PathBuf};

/// A case file found on disk: where it is and how to name it in reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFileRef {
    /// The file on disk.
    pub path: PathBuf,
    /// The name used in reports: the path relative to the folder given, with
    /// `/` separators (the file name when a file was given directly).
    pub rel: String,
}

/// One case of a file, or why it could not be read.
#[derive(Debug, Clone)]
pub struct CaseEntry {
    /// The case's name (after `format`/`config` expansion).
    pub name: String,
    /// The case, or the reason it could not be loaded.
    pub case: Result<Case, String>,
}

/// One runnable case.
#[derive(Debug, Clone, Default)]
pub struct Case {
    /// The case's name, unique in its file.
    pub name: String,
    /// False when the case says `enabled: false`.
    pub enabled: bool,
    /// The SQL statements, in order, with `{FORMAT}` already replaced.
    pub statements: Vec<String>,
    /// Properties to set before the statements, values rendered as text.
    pub properties: Vec<(String, String)>,
    /// Topics to create up front.
    pub topics: Vec<TopicSpec>,
    /// Records produced after the statements ran.
    pub inputs: Vec<InputRecord>,
    /// Records the output topics must hold.
    pub outputs: Vec<ExpectedRecord>,
    /// `expectedException` / `expectedError`: the case must fail.
    pub expected_error: Option<ExpectedError>,
    /// Checks after the run.
    pub post: PostChecks,
    /// RQTT: the expected response of each statement (`queryProto`
    /// entries dropped), or None for QTT cases.
    pub responses: Option<Vec<Response>>,
    /// RQTT `inputConditions.waitForActivePushQuery`: start the queries
    /// before producing the inputs.
    pub wait_for_active_push_query: bool,
}

/// A topic the case asks for up front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partition count (default 1).
    pub partitions: Option<i32>,
    /// Replica count (default 1).
    pub replicas: Option<i16>,
    /// The key's schema to register under `<name>-key`.
    pub key_schema: Option<DeclaredSchema>,
    /// The value's schema to register under `<name>-value`.
    pub value_schema: Option<DeclaredSchema>,
}

/// A schema a case declares for a topic, to be registered before the
/// statements run (as ksqlDB's runner registers it in its mock registry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredSchema {
    /// `AVRO`, `PROTOBUF` or `JSON` (the registry's schema type), from the
    /// topic's `keyFormat`/`valueFormat` (AVRO when absent).
    pub schema_type: String,
    /// The schema's text: Avro and JSON schemas as JSON text, Protobuf
    /// schemas as their source.
    pub text: String,
}

/// A window as written in a case: bounds in ms and `time` or `session`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpec {
    /// Window start, ms.
    pub start: i64,
    /// Window end, ms (exclusive for time windows, inclusive for sessions).
    pub end: i64,
    /// `time` or `session`.
    pub kind: String,
}

/// A record header: name and optional bytes.
pub type HeaderSpec = (String, Option<Vec<u8>>);

/// A record to produce.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRecord {
    /// Topic to produce to.
    pub topic: String,
    /// The key in case-JSON convention (null when absent).
    pub key: Json,
    /// The value in case-JSON convention (null is a tombstone).
    pub value: Json,
    /// Timestamp in ms (0 when absent).
    pub timestamp: i64,
    /// Headers, in order.
    pub headers: Vec<HeaderSpec>,
    /// The window of a windowed key.
    pub window: Option<WindowSpec>,
}

/// A record an output topic must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedRecord {
    /// Topic the record is expected on.
    pub topic: String,
    /// The key in case-JSON convention (null when absent).
    pub key: Json,
    /// The value in case-JSON convention (null is a tombstone).
    pub value: Json,
    /// The timestamp, checked when given.
    pub timestamp: Option<i64>,
    /// The window, checked when given.
    pub window: Option<WindowSpec>,
    /// The headers, checked when given.
    pub headers: Option<Vec<HeaderSpec>>,
}

/// The failure a case expects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpectedError {
    /// The Java exception class (informative only).
    pub type_name: Option<String>,
    /// A fragment of ksqlDB's message.
    pub message: Option<String>,
    /// The HTTP status ksqlDB's REST API answers with (RQTT).
    pub status: Option<u16>,
}

/// `post` checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostChecks {
    /// Sources that must exist, with their properties.
    pub sources: Vec<SourceCheck>,
    /// A regex no topic name may match in full.
    pub topic_blacklist: Option<String>,
    /// Topics that must exist.
    pub topics: Vec<TopicCheck>,
}

/// One `post.sources` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceCheck {
    /// Source name.
    pub name: String,
    /// `stream` or `table`.
    pub kind: Option<String>,
    /// Schema text such as `ID INT KEY, V STRING`.
    pub schema: Option<String>,
    /// Key format name.
    pub key_format: Option<String>,
    /// Value format name.
    pub value_format: Option<String>,
    /// Key serde features.
    pub key_features: Option<Vec<String>>,
    /// Value serde features.
    pub value_features: Option<Vec<String>>,
    /// Whether it is a read-only `CREATE SOURCE` source.
    pub is_source: Option<bool>,
}

/// One `post.topics.topics` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicCheck {
    /// Topic name.
    pub name: String,
    /// Partition count, when given.
    pub partitions: Option<i32>,
}

/// The expected REST response to one statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// `{"admin": {"@type": ...}}`: the statement succeeds, answering an
    /// entity of this type (when given).
    Admin(Option<String>),
    /// `{"query": [...]}`: a query's header and rows.
    Query(QueryResponse),
    /// Anything else (kept so positions still line up).
    Other(Json),
}

/// The expected output of a SELECT.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryResponse {
    /// The header's schema text, e.g. `` `ID` STRING KEY, `COUNT` BIGINT ``.
    pub schema: Option<String>,
    /// Each row's columns, in order.
    pub rows: Vec<Vec<Json>>,
    /// `finalMessage`, e.g. `Limit Reached`.
    pub final_message: Option<String>,
}

/// Removes `//` comments that start outside JSON strings (to the end of
/// their line).
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    let mut escaped = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            for d in chars.by_ref() {
                if d == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Finds the case files under `path`: the file itself, or every `.json`
/// file of the folder and its subfolders, sorted by relative path.
pub fn discover(path: &Path) -> std::io::Result<Vec<CaseFileRef>> {
    if path.is_file() {
        let rel = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        return Ok(vec![CaseFileRef {
            path: path.to_path_buf(),
            rel,
        }]);
    }
    let mut found = Vec::new();
    walk(path, path, &mut found)?;
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(found)
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<CaseFileRef>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(root, &path, found)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            found.push(CaseFileRef { path, rel });
        }
    }
    Ok(())
}

/// What reading a file gave.
#[derive(Debug)]
pub enum FileContents {
    /// A case file and its cases.
    Cases(Vec<CaseEntry>),
    /// A JSON file without a `tests` array (such as `GROUPS.json`).
    NotACaseFile,
}

/// Reads and parses a case file.
pub fn load_file(path: &Path) -> Result<FileContents, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    parse_file(&text)
}

/// Parses the text of a case file.
pub fn parse_file(text: &str) -> Result<FileContents, String> {
    let json: Json =
        serde_json::from_str(&strip_comments(text)).map_err(|e| format!("not valid JSON: {e}"))?;
    let Some(tests) = json.get("tests").and_then(Json::as_array) else {
        return Ok(FileContents::NotACaseFile);
    };
    let mut entries = Vec::new();
    for (i, test) in tests.iter().enumerate() {
        entries.extend(expand_case(i, test));
    }
    Ok(FileContents::Cases(entries))
}

/// Expands one case object into its `format` × `config` variants.
fn expand_case(index: usize, test: &Json) -> Vec<CaseEntry> {
    let base_name = test
        .get("name")
        .and_then(Json::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("case #{}", index + 1));
    let Some(obj) = test.as_object() else {
        return vec![CaseEntry {
            name: base_name,
            case: Err("a case must be a JSON object".into()),
        }];
    };
    let formats = string_list(obj.get("format"));
    let configs = string_list(obj.get("config"));
    let mut variants: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    match (&formats, &configs) {
        (None, None) => variants.push((base_name.clone(), None, None)),
        (Some(fs), None) => {
            for f in fs {
                variants.push((format!("{base_name} - {f}"), Some(f.clone()), None));
            }
        }
        (None, Some(cs)) => {
            for c in cs {
                variants.push((format!("{base_name} - {c}"), None, Some(c.clone())));
            }
        }
        (Some(fs), Some(cs)) => {
            for f in fs {
                for c in cs {
                    variants.push((
                        format!("{base_name} - {f} - {c}"),
                        Some(f.clone()),
                        Some(c.clone()),
                    ));
                }
            }
        }
    }
    variants
        .into_iter()
        .map(|(name, format, config)| CaseEntry {
            case: build_case(obj, &name, format.as_deref(), config.as_deref()),
            name,
        })
        .collect()
}

fn string_list(v: Option<&Json>) -> Option<Vec<String>> {
    let items = v?.as_array()?;
    Some(items.iter().map(json_text).collect())
}

/// A JSON scalar as text: strings without quotes, everything else as JSON.
fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn build_case(
    obj: &Map<String, Json>,
    name: &str,
    format: Option<&str>,
    config: Option<&str>,
) -> Result<Case, String> {
    let statements = obj
        .get("statements")
        .and_then(Json::as_array)
        .ok_or("no `statements` list")?
        .iter()
        .map(|s| {
            let s = s.as_str().ok_or("a statement is not a string")?;
            Ok(match format {
                Some(f) => s.replace("{FORMAT}", f),
                None => s.to_string(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;

    let mut properties = Vec::new();
    if let Some(props) = obj.get("properties").and_then(Json::as_object) {
        for (k, v) in props {
            let mut text = json_text(v);
            if let Some(c) = config {
                text = text.replace("{CONFIG}", c);
            }
            properties.push((k.clone(), text));
        }
    }

    let topics = list(obj, "topics")
        .iter()
        .map(parse_topic)
        .collect::<Result<Vec<_>, String>>()?;
    let inputs = list(obj, "inputs")
        .iter()
        .enumerate()
        .map(|(i, r)| parse_input(r).map_err(|e| format!("input #{}: {e}", i + 1)))
        .collect::<Result<Vec<_>, String>>()?;
    let outputs = list(obj, "outputs")
        .iter()
        .enumerate()
        .map(|(i, r)| parse_output(r).map_err(|e| format!("output #{}: {e}", i + 1)))
        .collect::<Result<Vec<_>, String>>()?;

    let expected_error = obj
        .get("expectedException")
        .or_else(|| obj.get("expectedError"))
        .map(|e| ExpectedError {
            type_name: e.get("type").and_then(Json::as_str).map(str::to_string),
            message: e.get("message").and_then(Json::as_str).map(str::to_string),
            status: e
                .get("status")
                .and_then(Json::as_u64)
                .and_then(|n| u16::try_from(n).ok()),
        });

    let post = match obj.get("post") {
        Some(p) => parse_post(p)?,
        None => PostChecks::default(),
    };

    let responses = obj.get("responses").and_then(Json::as_array).map(|rs| {
        rs.iter()
            .filter(|r| r.get("queryProto").is_none())
            .map(parse_response)
            .collect()
    });

    let wait_for_active_push_query = obj
        .get("inputConditions")
        .and_then(|c| c.get("waitForActivePushQuery"))
        .and_then(Json::as_bool)
        .unwrap_or(false);

    Ok(Case {
        name: name.to_string(),
        enabled: obj.get("enabled").and_then(Json::as_bool).unwrap_or(true),
        statements,
        properties,
        topics,
        inputs,
        outputs,
        expected_error,
        post,
        responses,
        wait_for_active_push_query,
    })
}

fn list<'a>(obj: &'a Map<String, Json>, field: &str) -> &'a [Json] {
    obj.get(field)
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn get_i64(v: &Json, field: &str) -> Result<Option<i64>, String> {
    match v.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| format!("`{field}` is not an integer")),
        Some(Json::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| format!("`{field}` is not an integer")),
        Some(_) => Err(format!("`{field}` is not an integer")),
    }
}

fn get_topic_name(v: &Json, field: &str) -> Result<String, String> {
    v.get(field)
        .and_then(Json::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no `{field}`"))
}

fn parse_topic(v: &Json) -> Result<TopicSpec, String> {
    let name = get_topic_name(v, "name").map_err(|e| format!("topic: {e}"))?;
    let partitions = get_i64(v, "partitions")?.map(|p| p as i32);
    let replicas = get_i64(v, "replicas")?.map(|r| r as i16);
    Ok(TopicSpec {
        name,
        partitions,
        replicas,
        key_schema: declared_schema(v, "keySchema", "keyFormat"),
        value_schema: declared_schema(v, "valueSchema", "valueFormat"),
    })
}

fn declared_schema(v: &Json, field: &str, format_field: &str) -> Option<DeclaredSchema> {
    let schema = v.get(field).filter(|s| !s.is_null())?;
    let format = v
        .get(format_field)
        .and_then(Json::as_str)
        .unwrap_or("AVRO")
        .to_ascii_uppercase();
    let schema_type = match format.as_str() {
        "PROTOBUF" | "PROTOBUF_NOSR" => "PROTOBUF",
        "JSON" | "JSON_SR" => "JSON",
        _ => "AVRO",
    };
    let text = match schema {
        // A string is the schema's text when it is Protobuf source or JSON
        // text, else an Avro primitive's name ("int").
        Json::String(t) if schema_type == "PROTOBUF" => t.clone(),
        Json::String(t) if serde_json::from_str::<Json>(t).is_ok() => t.clone(),
        other => other.to_string(),
    };
    Some(DeclaredSchema {
        schema_type: schema_type.to_string(),
        text,
    })
}

fn parse_window(v: &Json) -> Result<Option<WindowSpec>, String> {
    let Some(w) = v.get("window").filter(|w| !w.is_null()) else {
        return Ok(None);
    };
    Ok(Some(WindowSpec {
        start: get_i64(w, "start")?.ok_or("window without `start`")?,
        end: get_i64(w, "end")?.ok_or("window without `end`")?,
        kind: w
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or("time")
            .to_ascii_lowercase(),
    }))
}

fn parse_headers(v: &Json) -> Result<Option<Vec<HeaderSpec>>, String> {
    let Some(hs) = v.get("headers").filter(|h| !h.is_null()) else {
        return Ok(None);
    };
    let hs = hs.as_array().ok_or("`headers` is not a list")?;
    let mut out = Vec::new();
    for h in hs {
        let key = h
            .get("KEY")
            .or_else(|| h.get("key"))
            .and_then(Json::as_str)
            .ok_or("a header without `KEY`")?
            .to_string();
        let value = match h.get("VALUE").or_else(|| h.get("value")) {
            None | Some(Json::Null) => None,
            Some(Json::String(b64)) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| format!("header `{key}`: bad base64: {e}"))?,
            ),
            Some(_) => return Err(format!("header `{key}`: VALUE is not a string")),
        };
        out.push((key, value));
    }
    Ok(Some(out))
}

fn parse_input(v: &Json) -> Result<InputRecord, String> {
    Ok(InputRecord {
        topic: get_topic_name(v, "topic")?,
        key: v.get("key").cloned().unwrap_or(Json::Null),
        value: v.get("value").cloned().unwrap_or(Json::Null),
        timestamp: get_i64(v, "timestamp")?.unwrap_or(0),
        headers: parse_headers(v)?.unwrap_or_default(),
        window: parse_window(v)?,
    })
}

fn parse_output(v: &Json) -> Result<ExpectedRecord, String> {
    Ok(ExpectedRecord {
        topic: get_topic_name(v, "topic")?,
        key: v.get("key").cloned().unwrap_or(Json::Null),
        value: v.get("value").cloned().unwrap_or(Json::Null),
        timestamp: get_i64(v, "timestamp")?,
        window: parse_window(v)?,
        headers: parse_headers(v)?,
    })
}

/// A format given as `"JSON"` or `{"format": "JSON", ...}`.
fn format_name(v: Option<&Json>) -> Option<String> {
    match v? {
        Json::String(s) => Some(s.clone()),
        Json::Object(o) => o.get("format").and_then(Json::as_str).map(str::to_string),
        _ => None,
    }
}

fn parse_post(v: &Json) -> Result<PostChecks, String> {
    let mut post = PostChecks::default();
    if let Some(sources) = v.get("sources").and_then(Json::as_array) {
        for s in sources {
            post.sources.push(SourceCheck {
                name: get_topic_name(s, "name").map_err(|e| format!("post source: {e}"))?,
                kind: s.get("type").and_then(Json::as_str).map(str::to_string),
                schema: s.get("schema").and_then(Json::as_str).map(str::to_string),
                key_format: format_name(s.get("keyFormat")),
                value_format: format_name(s.get("valueFormat")),
                key_features: string_list(s.get("keyFeatures")),
                value_features: string_list(s.get("valueFeatures")),
                is_source: s.get("isSource").and_then(Json::as_bool),
            });
        }
    }
    if let Some(topics) = v.get("topics") {
        post.topic_blacklist = topics
            .get("blacklist")
            .and_then(Json::as_str)
            .map(str::to_string);
        for t in topics
            .get("topics")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            post.topics.push(TopicCheck {
                name: get_topic_name(t, "name").map_err(|e| format!("post topic: {e}"))?,
                partitions: get_i64(t, "partitions")?.map(|p| p as i32),
            });
        }
    }
    Ok(post)
}

fn parse_response(v: &Json) -> Response {
    if let Some(admin) = v.get("admin") {
        let ty = admin
            .get("@type")
            .and_then(Json::as_str)
            .map(str::to_string);
        return Response::Admin(ty);
    }
    let Some(entries) = v.get("query").and_then(Json::as_array) else {
        return Response::Other(v.clone());
    };
    let mut q = QueryResponse::default();
    for e in entries {
        if let Some(h) = e.get("header") {
            q.schema = h.get("schema").and_then(Json::as_str).map(str::to_string);
        } else if let Some(r) = e.get("row") {
            let cols = r
                .get("columns")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default();
            q.rows.push(cols);
        } else if let Some(m) = e.get("finalMessage") {
            q.final_message = Some(json_text(m));
        }
    }
    Response::Query(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_strings_are_removed() {
        let text = "{\n // a comment\n \"a\": \"http://x\", // trailing\n \"b\": 1\n}";
        let v: Json = serde_json::from_str(&strip_comments(text)).unwrap();
        assert_eq!(v["a"], "http://x");
        assert_eq!(v["b"], 1);
    }

    #[test]
    fn formats_expand_into_named_cases() {
        let text = r#"{"tests":[{"name":"n","format":["JSON","AVRO"],
            "statements":["CREATE STREAM S (A INT) WITH (value_format='{FORMAT}');"]}]}"#;
        let FileContents::Cases(cases) = parse_file(text).unwrap() else {
            panic!("not a case file")
        };
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].name, "n - JSON");
        let c = cases[1].case.as_ref().unwrap();
        assert_eq!(c.name, "n - AVRO");
        assert!(c.statements[0].contains("value_format='AVRO'"));
    }

    #[test]
    fn files_without_tests_are_not_case_files() {
        assert!(matches!(
            parse_file(r#"{"groups":{}}"#).unwrap(),
            FileContents::NotACaseFile
        ));
    }
}
