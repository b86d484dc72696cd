//! A connector's configuration: Kafka Connect's keys as text, read with
//! defaults and clear errors.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// One connector's configuration, `name` and `connector.class` included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorConfig {
    pub name: String,
    pub map: BTreeMap<String, String>,
}

impl ConnectorConfig {
    /// The configuration of connector `name` (which is also put under the
    /// `name` key, as Connect shows it).
    pub fn new(name: &str, map: BTreeMap<String, String>) -> ConnectorConfig {
        let mut map = map;
        map.insert("name".to_string(), name.to_string());
        ConnectorConfig {
            name: name.to_string(),
            map,
        }
    }

    /// `connector.class` ("" when missing).
    pub fn class(&self) -> &str {
        self.get("connector.class").unwrap_or("")
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// A key that must be set (and not empty).
    pub fn required(&self, key: &str) -> Result<&str> {
        match self.get(key) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(Error::plan(format!(
                "Missing required configuration \"{key}\" which has no default value."
            ))),
        }
    }

    /// A whole number, `default` when missing.
    pub fn int(&self, key: &str, default: i64) -> Result<i64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.trim().parse::<i64>().map_err(|_| {
                Error::plan(format!(
                    "Invalid value {v} for configuration {key}: Not a number of type LONG"
                ))
            }),
        }
    }

    /// A boolean, `default` when missing.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(v) => Err(Error::plan(format!(
                "Invalid value {v} for configuration {key}: Expected value to be either true or false"
            ))),
        }
    }

    /// A comma-separated list (`topics`), trimmed, empty items dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_typed_keys_with_defaults_and_errors() {
        let c = ConnectorConfig::new(
            "c",
            [
                ("iterations", "12"),
                ("flag", "TRUE"),
                ("topics", " a, ,b "),
                ("bad", "x"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        assert_eq!(c.get("name"), Some("c"));
        assert_eq!(c.int("iterations", -1).unwrap(), 12);
        assert_eq!(c.int("missing", -1).unwrap(), -1);
        assert!(c.int("bad", 0).is_err());
        assert!(c.bool("flag", false).unwrap());
        assert_eq!(c.list("topics"), vec!["a", "b"]);
        assert!(c
            .required("file")
            .unwrap_err()
            .to_string()
            .contains("\"file\""));
    }
}
