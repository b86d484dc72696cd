//! Sessions: one client's properties and variables, the statements that
//! change them (SET, UNSET, DEFINE, UNDEFINE), and variable substitution.

use crate::error::{Error, Result};
use crate::results::StatementResult;
use std::collections::BTreeMap;

/// One session's properties and variables. Every statement runs with a
/// session's, as ksqlDB scopes `streamsProperties` and variables per
/// request; a persistent query keeps the properties in force when it was
/// created (they are recorded with its statement).
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    pub properties: BTreeMap<String, String>,
    pub variables: BTreeMap<String, String>,
}

impl SessionState {
    /// A session starting from the engine's configured properties.
    pub fn new(properties: BTreeMap<String, String>) -> Self {
        SessionState {
            properties,
            variables: BTreeMap::new(),
        }
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// The first of `names` that is set (a property and its older
    /// `ksql.streams.` spelling).
    pub fn first_property(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.property(n))
    }

    pub fn property_bool(&self, name: &str, default: bool) -> bool {
        self.property(name)
            .map(|v| v.eq_ignore_ascii_case("true"))
            .unwrap_or(default)
    }

    /// `auto.offset.reset` is `earliest`.
    pub fn reads_from_earliest(&self) -> bool {
        self.property("auto.offset.reset")
            .is_some_and(|v| v.eq_ignore_ascii_case("earliest"))
    }

    /// `SET 'name' = 'value';`
    pub fn set(&mut self, name: &str, value: &str) -> StatementResult {
        self.properties.insert(name.to_string(), value.to_string());
        StatementResult::Message(format!(
            "Successfully changed local property '{name}' to '{value}'."
        ))
    }

    /// `UNSET 'name';`
    pub fn unset(&mut self, name: &str) -> StatementResult {
        self.properties.remove(name);
        StatementResult::Message(format!("Successfully unset local property '{name}'."))
    }

    /// `DEFINE name = 'value';`
    pub fn define(&mut self, name: &str, value: &str) -> StatementResult {
        self.variables.insert(name.to_string(), value.to_string());
        StatementResult::Message(format!("Defined variable {name}"))
    }

    /// `UNDEFINE name;` (names match case-insensitively).
    pub fn undefine(&mut self, name: &str) -> Result<StatementResult> {
        let key = self
            .variables
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| Error::plan(format!("Variable '{name}' is undefined")))?;
        self.variables.remove(&key);
        Ok(StatementResult::Message(format!(
            "Undefined variable {name}"
        )))
    }

    /// Replaces `${name}` with the session's variables (unless
    /// `ksql.variable.substitution.enable` is false).
    pub fn substitute(&self, text: &str) -> Result<String> {
        if !self.property_bool("ksql.variable.substitution.enable", true) || !text.contains("${") {
            return Ok(text.to_string());
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| Error::plan("Unterminated variable reference '${'"))?;
            let name = &after[..end];
            let value = self
                .variables
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| Error::plan(format!("Can't find variable with name '{name}'")))?;
            out.push_str(value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
