//! Session statements (SET, UNSET, DEFINE, UNDEFINE) and variable
//! substitution.

use super::EngineInner;
use crate::error::{Error, Result};

impl EngineInner {
    pub fn set_property(&self, name: &str, value: &str) {
        self.state
            .lock()
            .properties
            .insert(name.to_string(), value.to_string());
    }

    pub(super) fn property(&self, name: &str) -> Option<String> {
        self.state.lock().properties.get(name).cloned()
    }

    pub(super) fn property_bool(&self, name: &str, default: bool) -> bool {
        self.property(name)
            .map(|v| v.eq_ignore_ascii_case("true"))
            .unwrap_or(default)
    }

    pub(super) fn substitute(&self, text: &str) -> Result<String> {
        if !self.property_bool("ksql.variable.substitution.enable", true) || !text.contains("${") {
            return Ok(text.to_string());
        }
        let vars = self.state.lock().variables.clone();
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| Error::plan("Unterminated variable reference '${'"))?;
            let name = &after[..end];
            let value = vars
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .ok_or_else(|| Error::plan(format!("Can't find variable with name '{name}'")))?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
