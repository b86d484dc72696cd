//! The `.proto` schema text of a source's columns, as ksqlDB writes it.

use super::*;

/// The `.proto` text of the schema ksqlDB derives for `columns` (root
/// message `ConnectDefault1`, fields numbered in column order, nested
/// messages `ConnectDefault2`, `ConnectDefault3Entry`... in depth-first
/// order), with the default nullable representation.
pub fn proto_schema_text(columns: &[Column]) -> String {
    schema_text(columns, NullableRepresentation::Implicit)
}

pub(super) fn schema_text(columns: &[Column], nullable: NullableRepresentation) -> String {
    let mut w = SchemaWriter {
        counter: 1,
        imports: BTreeSet::new(),
        nullable,
    };
    let fields: Vec<(&str, &SqlType)> = columns.iter().map(|c| (c.name.as_str(), &c.ty)).collect();
    let body = w.message(ROOT_MESSAGE, &fields, 0);
    let mut out = String::from("syntax = \"proto3\";\n\n");
    if !w.imports.is_empty() {
        for i in &w.imports {
            let _ = writeln!(out, "import \"{i}\";");
        }
        out.push('\n');
    }
    out.push_str(&body);
    out
}

/// Builds schema text, numbering the generated message names.
pub(super) struct SchemaWriter {
    counter: u32,
    imports: BTreeSet<&'static str>,
    nullable: NullableRepresentation,
}

/// A field or message name made valid in a .proto file.
pub(super) fn proto_ident(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        s.insert(0, 'x');
    }
    s
}

impl SchemaWriter {
    fn next_name(&mut self) -> String {
        self.counter += 1;
        format!("ConnectDefault{}", self.counter)
    }

    /// A message definition at `depth`, nested definitions after its fields.
    fn message(&mut self, name: &str, fields: &[(&str, &SqlType)], depth: usize) -> String {
        let pad = "  ".repeat(depth);
        let mut lines = String::new();
        let mut nested = Vec::new();
        for (i, (fname, ty)) in fields.iter().enumerate() {
            let decl = self.field(&proto_ident(fname), ty, i + 1, depth, &mut nested);
            let _ = writeln!(lines, "{pad}  {decl}");
        }
        let mut out = format!("{pad}message {name} {{\n{lines}");
        for n in nested {
            out.push('\n');
            out.push_str(&n);
        }
        let _ = writeln!(out, "{pad}}}");
        out
    }

    /// A field declaration (`[label] type name = num [options];`), pushing
    /// the definitions of messages it needs onto `nested`.
    fn field(
        &mut self,
        name: &str,
        ty: &SqlType,
        num: usize,
        depth: usize,
        nested: &mut Vec<String>,
    ) -> String {
        match ty {
            SqlType::Array(elem) => {
                let elem_type = match &**elem {
                    SqlType::Array(_) | SqlType::Map(..) => {
                        let wrapper = self.next_name();
                        let mut inner = Vec::new();
                        let decl = self.field("value", elem, 1, depth + 1, &mut inner);
                        let pad = "  ".repeat(depth + 1);
                        let mut def = format!("{pad}message {wrapper} {{\n{pad}  {decl}\n");
                        for n in inner {
                            def.push('\n');
                            def.push_str(&n);
                        }
                        let _ = writeln!(def, "{pad}}}");
                        nested.push(def);
                        wrapper
                    }
                    other => self.type_name(name, other, depth, nested),
                };
                format!("repeated {elem_type} {name} = {num};")
            }
            SqlType::Map(_, vt) => {
                let entry = format!("{}Entry", self.next_name());
                let mut inner = Vec::new();
                let value_decl = self.field("value", vt, 2, depth + 1, &mut inner);
                let pad = "  ".repeat(depth + 1);
                let mut def = format!(
                    "{pad}message {entry} {{\n{pad}  string key = 1;\n{pad}  {value_decl}\n"
                );
                for n in inner {
                    def.push('\n');
                    def.push_str(&n);
                }
                let _ = writeln!(def, "{pad}}}");
                nested.push(def);
                format!("repeated {entry} {name} = {num};")
            }
            SqlType::Decimal(p, s) => {
                self.imports.insert("confluent/meta.proto");
                self.imports.insert("confluent/type/decimal.proto");
                format!(
                    "confluent.type.Decimal {name} = {num} [(confluent.field_meta) = {{ params: [{{ key: \"precision\", value: \"{p}\" }}, {{ key: \"scale\", value: \"{s}\" }}] }}];"
                )
            }
            _ => {
                let label = if is_scalar(ty) && self.nullable == NullableRepresentation::Optional {
                    "optional "
                } else {
                    ""
                };
                let t = self.type_name(name, ty, depth, nested);
                format!("{label}{t} {name} = {num};")
            }
        }
    }

    /// The type of a singular (or repeated element) field of type `ty`.
    fn type_name(
        &mut self,
        field_name: &str,
        ty: &SqlType,
        depth: usize,
        nested: &mut Vec<String>,
    ) -> String {
        let wrapper = self.nullable == NullableRepresentation::Wrapper;
        let scalar = |plain: &'static str, wrapped: &'static str| -> (&'static str, bool) {
            if wrapper {
                (wrapped, true)
            } else {
                (plain, false)
            }
        };
        let (t, needs_wrappers) = match ty {
            SqlType::Boolean => scalar("bool", "google.protobuf.BoolValue"),
            SqlType::Int => scalar("int32", "google.protobuf.Int32Value"),
            SqlType::BigInt => scalar("int64", "google.protobuf.Int64Value"),
            SqlType::Double => scalar("double", "google.protobuf.DoubleValue"),
            SqlType::String => scalar("string", "google.protobuf.StringValue"),
            SqlType::Bytes => scalar("bytes", "google.protobuf.BytesValue"),
            SqlType::Decimal(..) => {
                self.imports.insert("confluent/type/decimal.proto");
                ("confluent.type.Decimal", false)
            }
            SqlType::Date => {
                self.imports.insert("google/type/date.proto");
                ("google.type.Date", false)
            }
            SqlType::Time => {
                self.imports.insert("google/type/timeofday.proto");
                ("google.type.TimeOfDay", false)
            }
            SqlType::Timestamp => {
                self.imports.insert("google/protobuf/timestamp.proto");
                ("google.protobuf.Timestamp", false)
            }
            SqlType::Struct(fields) => {
                let mut name = self.next_name();
                if name == field_name {
                    name.push_str("Message");
                }
                let fs: Vec<(&str, &SqlType)> =
                    fields.iter().map(|(n, t)| (n.as_str(), t)).collect();
                let def = self.message(&name, &fs, depth + 1);
                nested.push(def);
                return name;
            }
            other => return proto_ident(&other.to_string()),
        };
        if needs_wrappers {
            self.imports.insert("google/protobuf/wrappers.proto");
        }
        t.to_string()
    }
}

impl ProtobufCodec {
    /// The `.proto` text of the schema this codec reads and writes.
    pub fn schema_text(&self) -> String {
        schema_text(&self.columns, self.nullable)
    }
}
