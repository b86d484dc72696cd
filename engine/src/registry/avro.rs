//! Avro schemas as the registry sees them: parsing and validating a
//! schema's JSON (names, namespaces, unions, defaults, references to named
//! types of other schemas), its canonical text, and Avro's schema
//! resolution rules, which decide whether a reader schema can read what a
//! writer schema wrote (the basis of every compatibility level).

use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};

/// A type of a parsed schema. Named types live in [`AvroSchema::named`].
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(Box<Ty>),
    Map(Box<Ty>),
    Union(Vec<Ty>),
    /// An index into [`AvroSchema::named`].
    Named(usize),
}

/// A record, enum or fixed type, with its full name and aliases.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub full_name: String,
    pub aliases: Vec<String>,
    pub kind: NamedKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NamedKind {
    Record(Vec<Field>),
    Enum {
        symbols: Vec<String>,
        default: Option<String>,
    },
    Fixed(u64),
}

/// A record field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub aliases: Vec<String>,
    pub ty: Ty,
    pub default: Option<Json>,
}

/// A parsed schema: its root type and every named type it (and the schemas
/// it references) defines.
#[derive(Debug, Clone, PartialEq)]
pub struct AvroSchema {
    pub root: Ty,
    pub named: Vec<Named>,
}

type Parsed<T> = std::result::Result<T, String>;

/// The schema's canonical text: its JSON without insignificant white space,
/// after checking that it is a valid Avro schema (with `referenced`, the
/// texts of the schemas it references, defining named types it may use).
pub fn canonical(text: &str, referenced: &[String]) -> Parsed<String> {
    AvroSchema::parse(text, referenced)?;
    let json: Json = serde_json::from_str(text).map_err(|e| format!("Invalid schema: {e}"))?;
    Ok(json.to_string())
}

impl AvroSchema {
    /// Parses `text`, after the `referenced` schemas whose named types it
    /// may use. Errors are messages in the registry's words.
    pub fn parse(text: &str, referenced: &[String]) -> Parsed<AvroSchema> {
        let mut parser = Parser::default();
        for r in referenced {
            let json: Json = serde_json::from_str(r)
                .map_err(|e| format!("Invalid schema: a referenced schema: {e}"))?;
            parser.ty(&json, "")?;
        }
        let json: Json = serde_json::from_str(text).map_err(|e| format!("Invalid schema: {e}"))?;
        let root = parser.ty(&json, "")?;
        Ok(AvroSchema {
            root,
            named: parser.named,
        })
    }
}

#[derive(Default)]
struct Parser {
    named: Vec<Named>,
    by_name: HashMap<String, usize>,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn primitive(name: &str) -> Option<Ty> {
    Some(match name {
        "null" => Ty::Null,
        "boolean" => Ty::Boolean,
        "int" => Ty::Int,
        "long" => Ty::Long,
        "float" => Ty::Float,
        "double" => Ty::Double,
        "bytes" => Ty::Bytes,
        "string" => Ty::String,
        _ => return None,
    })
}

fn strings(json: Option<&Json>, what: &str) -> Parsed<Vec<String>> {
    match json {
        None => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("Invalid schema: {what} must be strings"))
            })
            .collect(),
        Some(_) => Err(format!("Invalid schema: {what} must be an array")),
    }
}

impl Parser {
    fn full_name(name: &str, namespace: &str) -> String {
        if name.contains('.') || namespace.is_empty() {
            name.to_string()
        } else {
            format!("{namespace}.{name}")
        }
    }

    fn reference(&self, name: &str, namespace: &str) -> Parsed<Ty> {
        let full = Self::full_name(name, namespace);
        self.by_name
            .get(&full)
            .or_else(|| self.by_name.get(name))
            .map(|&i| Ty::Named(i))
            .ok_or_else(|| format!("Invalid schema: undefined name: {full}"))
    }

    fn ty(&mut self, json: &Json, namespace: &str) -> Parsed<Ty> {
        match json {
            Json::String(name) => match primitive(name) {
                Some(t) => Ok(t),
                None => self.reference(name, namespace),
            },
            Json::Array(branches) => self.union(branches, namespace),
            Json::Object(obj) => {
                let kind = obj
                    .get("type")
                    .ok_or_else(|| format!("Invalid schema: no type: {json}"))?;
                match kind.as_str() {
                    Some("record") | Some("error") => self.record(obj, namespace),
                    Some("enum") => self.enumeration(obj, namespace),
                    Some("fixed") => self.fixed(obj, namespace),
                    Some("array") => {
                        let items = obj
                            .get("items")
                            .ok_or("Invalid schema: an array has no items")?;
                        Ok(Ty::Array(Box::new(self.ty(items, namespace)?)))
                    }
                    Some("map") => {
                        let values = obj
                            .get("values")
                            .ok_or("Invalid schema: a map has no values")?;
                        Ok(Ty::Map(Box::new(self.ty(values, namespace)?)))
                    }
                    // {"type": "int", "logicalType": ...}, {"type": "Name"}
                    // and {"type": {...}} name the type they wrap.
                    _ => self.ty(kind, namespace),
                }
            }
            other => Err(format!("Invalid schema: not a schema: {other}")),
        }
    }

    fn union(&mut self, branches: &[Json], namespace: &str) -> Parsed<Ty> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for b in branches {
            let t = self.ty(b, namespace)?;
            let key = match &t {
                Ty::Union(_) => return Err("Invalid schema: nested union".into()),
                Ty::Named(i) => self.named[*i].full_name.clone(),
                Ty::Array(_) => "array".into(),
                Ty::Map(_) => "map".into(),
                other => format!("{other:?}"),
            };
            if !seen.insert(key.clone()) {
                return Err(format!("Invalid schema: duplicate in union: {key}"));
            }
            out.push(t);
        }
        Ok(Ty::Union(out))
    }

    /// Declares a named type (before its body, so records may recurse).
    fn declare(
        &mut self,
        obj: &serde_json::Map<String, Json>,
        namespace: &str,
        kind: NamedKind,
    ) -> Parsed<(usize, String)> {
        let name = obj
            .get("name")
            .and_then(Json::as_str)
            .ok_or("Invalid schema: a named type has no name")?;
        let namespace = match obj.get("namespace").and_then(Json::as_str) {
            Some(ns) if !name.contains('.') => ns.to_string(),
            _ if name.contains('.') => name
                .rsplit_once('.')
                .map(|(ns, _)| ns.to_string())
                .unwrap_or_default(),
            _ => namespace.to_string(),
        };
        let simple = name.rsplit('.').next().unwrap_or(name);
        if !valid_name(simple)
            || !namespace
                .split('.')
                .all(|p| namespace.is_empty() || valid_name(p))
        {
            return Err(format!("Invalid schema: illegal name: {name}"));
        }
        if primitive(simple).is_some() && namespace.is_empty() {
            return Err(format!("Invalid schema: cannot redefine: {name}"));
        }
        let full = Self::full_name(simple, &namespace);
        if self.by_name.contains_key(&full) {
            return Err(format!("Invalid schema: can't redefine: {full}"));
        }
        let aliases = strings(obj.get("aliases"), "aliases")?
            .into_iter()
            .map(|a| Self::full_name(&a, &namespace))
            .collect();
        self.named.push(Named {
            full_name: full.clone(),
            aliases,
            kind,
        });
        let index = self.named.len() - 1;
        self.by_name.insert(full, index);
        Ok((index, namespace))
    }

    fn record(&mut self, obj: &serde_json::Map<String, Json>, namespace: &str) -> Parsed<Ty> {
        let (index, namespace) = self.declare(obj, namespace, NamedKind::Record(Vec::new()))?;
        let fields = obj
            .get("fields")
            .and_then(Json::as_array)
            .ok_or("Invalid schema: a record has no fields array")?;
        let mut out: Vec<Field> = Vec::new();
        for f in fields {
            let name = f
                .get("name")
                .and_then(Json::as_str)
                .ok_or("Invalid schema: a field has no name")?;
            if !valid_name(name) {
                return Err(format!("Invalid schema: illegal field name: {name}"));
            }
            if out.iter().any(|o| o.name == name) {
                return Err(format!("Invalid schema: duplicate field {name}"));
            }
            let ty_json = f
                .get("type")
                .ok_or_else(|| format!("Invalid schema: field {name} has no type"))?;
            let ty = self.ty(ty_json, &namespace)?;
            let default = f.get("default").cloned();
            if let Some(d) = &default {
                if !self.default_fits(&ty, d) {
                    return Err(format!(
                        "Invalid schema: invalid default for field {name}: {d} is not a {}",
                        self.describe(&ty)
                    ));
                }
            }
            out.push(Field {
                name: name.to_string(),
                aliases: strings(f.get("aliases"), "aliases")?,
                ty,
                default,
            });
        }
        self.named[index].kind = NamedKind::Record(out);
        Ok(Ty::Named(index))
    }

    fn enumeration(&mut self, obj: &serde_json::Map<String, Json>, namespace: &str) -> Parsed<Ty> {
        let symbols = strings(obj.get("symbols"), "enum symbols")?;
        if obj.get("symbols").is_none() {
            return Err("Invalid schema: an enum has no symbols".into());
        }
        let mut seen = HashSet::new();
        for s in &symbols {
            if !valid_name(s) || !seen.insert(s) {
                return Err(format!(
                    "Invalid schema: illegal or duplicate enum symbol: {s}"
                ));
            }
        }
        let default = obj
            .get("default")
            .and_then(Json::as_str)
            .map(str::to_string);
        if let Some(d) = &default {
            if !symbols.contains(d) {
                return Err(format!(
                    "Invalid schema: the enum default {d} is not a symbol"
                ));
            }
        }
        let (index, _) = self.declare(obj, namespace, NamedKind::Enum { symbols, default })?;
        Ok(Ty::Named(index))
    }

    fn fixed(&mut self, obj: &serde_json::Map<String, Json>, namespace: &str) -> Parsed<Ty> {
        let size = obj
            .get("size")
            .and_then(Json::as_u64)
            .ok_or("Invalid schema: a fixed type has no size")?;
        let (index, _) = self.declare(obj, namespace, NamedKind::Fixed(size))?;
        Ok(Ty::Named(index))
    }

    fn describe(&self, ty: &Ty) -> String {
        match ty {
            Ty::Named(i) => self.named[*i].full_name.clone(),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    /// Whether a field default is a value of its type (a union's default is
    /// a value of its first branch).
    fn default_fits(&self, ty: &Ty, d: &Json) -> bool {
        match ty {
            Ty::Null => d.is_null(),
            Ty::Boolean => d.is_boolean(),
            Ty::Int => d.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
            Ty::Long => d.is_i64(),
            Ty::Float | Ty::Double => d.is_number(),
            Ty::Bytes | Ty::String => d.is_string(),
            Ty::Array(items) => d
                .as_array()
                .is_some_and(|a| a.iter().all(|v| self.default_fits(items, v))),
            Ty::Map(values) => d
                .as_object()
                .is_some_and(|m| m.values().all(|v| self.default_fits(values, v))),
            Ty::Union(branches) => branches.first().is_some_and(|b| self.default_fits(b, d)),
            Ty::Named(i) => match &self.named[*i].kind {
                NamedKind::Record(fields) => d.as_object().is_some_and(|m| {
                    fields.iter().all(|f| match m.get(&f.name) {
                        Some(v) => self.default_fits(&f.ty, v),
                        None => f.default.is_some(),
                    })
                }),
                NamedKind::Enum { symbols, .. } => {
                    d.as_str().is_some_and(|s| symbols.iter().any(|x| x == s))
                }
                NamedKind::Fixed(_) => d.is_string(),
            },
        }
    }
}

/// Why `reader` cannot read data written with `writer`, by Avro's schema
/// resolution rules (empty when it can): promotions int -> long -> float ->
/// double and string <-> bytes; records matched by name (or the reader's
/// aliases), reader fields missing from the writer need defaults, writer
/// fields the reader lacks are skipped; enums need every writer symbol
/// unless the reader has a default; every branch of a writer union must be
/// readable; a reader union reads a writer type one of its branches reads.
pub fn can_read(reader: &AvroSchema, writer: &AvroSchema) -> Vec<String> {
    let mut check = Resolver {
        reader,
        writer,
        in_progress: HashSet::new(),
    };
    let mut out = Vec::new();
    check.check(&reader.root, &writer.root, "", &mut out);
    out
}

struct Resolver<'a> {
    reader: &'a AvroSchema,
    writer: &'a AvroSchema,
    /// Pairs of named types being compared further up: a recursive type
    /// meeting itself again is assumed to match (the outer check decides).
    in_progress: HashSet<(usize, usize)>,
}

fn short(ty: &Ty, schema: &AvroSchema) -> String {
    match ty {
        Ty::Named(i) => schema.named[*i].full_name.clone(),
        Ty::Array(_) => "array".into(),
        Ty::Map(_) => "map".into(),
        Ty::Union(_) => "union".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn promotes(reader: &Ty, writer: &Ty) -> bool {
    use Ty::*;
    reader == writer
        || matches!(
            (writer, reader),
            (Int, Long | Float | Double)
                | (Long, Float | Double)
                | (Float, Double)
                | (String, Bytes)
                | (Bytes, String)
        )
}

impl Resolver<'_> {
    fn readable(&mut self, r: &Ty, w: &Ty, path: &str) -> bool {
        let mut probe = Vec::new();
        self.check(r, w, path, &mut probe);
        probe.is_empty()
    }

    fn check(&mut self, r: &Ty, w: &Ty, path: &str, out: &mut Vec<String>) {
        let at = if path.is_empty() { "/" } else { path };
        match (r, w) {
            (_, Ty::Union(ws)) => {
                for (i, wb) in ws.iter().enumerate() {
                    self.check(r, wb, &format!("{path}/{i}"), out);
                }
            }
            (Ty::Union(rs), w) => {
                let rs = rs.clone();
                if !rs.iter().any(|rb| self.readable(rb, w, path)) {
                    out.push(format!(
                        "{at}: the reader's union has no branch for the writer's {}",
                        short(w, self.writer)
                    ));
                }
            }
            (Ty::Array(ri), Ty::Array(wi)) => self.check(ri, wi, &format!("{path}/items"), out),
            (Ty::Map(rv), Ty::Map(wv)) => self.check(rv, wv, &format!("{path}/values"), out),
            (Ty::Named(ri), Ty::Named(wi)) => self.named(*ri, *wi, at, out),
            (r, w) if promotes(r, w) => {}
            (r, w) => out.push(format!(
                "{at}: the reader's type {} cannot read the writer's {}",
                short(r, self.reader),
                short(w, self.writer)
            )),
        }
    }

    fn named(&mut self, ri: usize, wi: usize, at: &str, out: &mut Vec<String>) {
        let (rn, wn) = (&self.reader.named[ri], &self.writer.named[wi]);
        let simple = |n: &str| n.rsplit('.').next().unwrap_or(n).to_string();
        let same_name = rn.full_name == wn.full_name
            || rn
                .aliases
                .iter()
                .any(|a| *a == wn.full_name || simple(a) == simple(&wn.full_name));
        if !same_name {
            out.push(format!(
                "{at}: the reader's {} is not the writer's {}",
                rn.full_name, wn.full_name
            ));
            return;
        }
        if !self.in_progress.insert((ri, wi)) {
            return;
        }
        let (reader, writer) = (self.reader, self.writer);
        let (rn, wn) = (&reader.named[ri], &writer.named[wi]);
        match (&rn.kind, &wn.kind) {
            (NamedKind::Record(rf), NamedKind::Record(wf)) => {
                for f in rf {
                    let base = at.trim_end_matches('/');
                    let path = format!("{base}/fields/{}", f.name);
                    let found = wf
                        .iter()
                        .find(|w| w.name == f.name || f.aliases.contains(&w.name));
                    match found {
                        Some(w) => self.check(&f.ty, &w.ty, &path, out),
                        None if f.default.is_some() => {}
                        None => out.push(format!(
                            "{path}: the reader's field {} has no default value and is missing \
                             from the writer's {}",
                            f.name, wn.full_name
                        )),
                    }
                }
            }
            (
                NamedKind::Enum {
                    symbols: rs,
                    default,
                },
                NamedKind::Enum { symbols: ws, .. },
            ) => {
                if default.is_none() {
                    let missing: Vec<&String> = ws.iter().filter(|s| !rs.contains(s)).collect();
                    if !missing.is_empty() {
                        out.push(format!(
                            "{at}: the reader's enum {} lacks the writer's symbols {missing:?}",
                            rn.full_name
                        ));
                    }
                }
            }
            (NamedKind::Fixed(rs), NamedKind::Fixed(ws)) => {
                if rs != ws {
                    out.push(format!(
                        "{at}: the reader's fixed {} has size {rs}, the writer's {ws}",
                        rn.full_name
                    ));
                }
            }
            _ => out.push(format!(
                "{at}: the reader's {} and the writer's {} are different kinds of type",
                rn.full_name, wn.full_name
            )),
        }
        self.in_progress.remove(&(ri, wi));
    }
}
