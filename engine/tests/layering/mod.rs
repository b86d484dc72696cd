//! The engine's layering: each top-level module of `engine/src` may use only
//! the modules the table below allows (lower layers, and a few listed ones
//! of its own rank), and no file's imports lead back to itself.
//!
//! The check reads the sources as text. It finds every path a file writes
//! from `crate::`, `super::` or `self::` — in `use` declarations (grouped
//! ones too) and in code — and resolves it to the module and the file that
//! define it, looking through imports and re-exports (`use`, `pub use`:
//! a re-export is not itself an edge between files). Paths a module writes
//! relative to itself (`child::item`) name its own children: they are the
//! module tree, not imports, and are not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers: (top-level module, rank, modules it may use). `lib` is the
/// crate root (`lib.rs`, the facade). An entry `sql::ast` allows only that
/// part of a module. A module may use modules of a lower rank, and of its
/// own rank only where listed here.
const LAYERS: &[(&str, u8, &[&str])] = &[
    ("error", 0, &[]),
    ("types", 1, &["error"]),
    ("sql", 2, &["types", "error"]),
    ("functions", 2, &["types", "error"]),
    ("results", 2, &["types", "error"]),
    ("expr", 3, &["sql::ast", "functions", "types", "error"]),
    ("analytic", 3, &["results", "types", "error"]),
    ("formats", 3, &["types", "error"]),
    ("log", 3, &["types", "error"]),
    ("state", 4, &["log", "types", "error"]),
    (
        "catalog",
        4,
        &["expr", "formats", "log", "sql::ast", "types", "error"],
    ),
    ("registry", 4, &["log", "types", "error"]),
    (
        "operators",
        5,
        &[
            "state",
            "catalog",
            "expr",
            "formats",
            "functions",
            "log",
            "sql::ast",
            "types",
            "error",
        ],
    ),
    (
        "connect",
        5,
        &["results", "registry", "log", "sql::ast", "types", "error"],
    ),
    (
        "runtime",
        6,
        &[
            "results",
            "operators",
            "state",
            "catalog",
            "expr",
            "formats",
            "functions",
            "log",
            "sql",
            "types",
            "error",
        ],
    ),
    (
        "plan",
        7,
        &[
            "results",
            "runtime",
            "operators",
            "state",
            "registry",
            "catalog",
            "expr",
            "formats",
            "functions",
            "log",
            "sql",
            "types",
            "error",
        ],
    ),
    (
        "exec",
        8,
        &[
            "analytic",
            "lib",
            "results",
            "testkit",
            "connect",
            "plan",
            "runtime",
            "operators",
            "state",
            "registry",
            "catalog",
            "expr",
            "formats",
            "functions",
            "log",
            "sql",
            "types",
            "error",
        ],
    ),
    ("testkit", 8, &["formats", "types", "error"]),
    (
        "lib",
        8,
        &[
            "analytic",
            "exec",
            "results",
            "testkit",
            "connect",
            "plan",
            "runtime",
            "operators",
            "state",
            "registry",
            "catalog",
            "expr",
            "formats",
            "functions",
            "log",
            "sql",
            "types",
            "error",
        ],
    ),
];

/// True when the table entry `entry` (`types`, `sql::ast`) allows using
/// `target`, a path in the top-level module `top`.
fn allows(entry: &str, top: &str, target: &[String]) -> bool {
    let mut parts = entry.split("::");
    parts.next() == Some(top)
        && parts
            .enumerate()
            .all(|(k, p)| target.get(k + 1).map(String::as_str) == Some(p))
}

/// One token of Rust source, with comments, strings and character literals
/// left out.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// Splits source text into tokens with their line numbers.
fn tokenize(src: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let is_ident = |ch: char| ch == '_' || ch.is_alphanumeric();
    // Skips a string body from the opening quote at `i`, returning the
    // position after the closing quote.
    let skip_string = |mut i: usize, line: &mut usize| -> usize {
        i += 1;
        while i < c.len() && c[i] != '"' {
            if c[i] == '\\' {
                i += 1;
            }
            if c.get(i) == Some(&'\n') {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_string(i, &mut line);
        } else if (ch == 'r' || (ch == 'b' && next == Some('r')))
            && {
                let mut j = i + if ch == 'b' { 2 } else { 1 };
                while c.get(j) == Some(&'#') {
                    j += 1;
                }
                c.get(j) == Some(&'"')
            }
            && (i == 0 || !is_ident(c[i - 1]))
        {
            // A raw string: r"..", r#".."#, br"..".
            let mut j = i + if ch == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while c[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '\n' {
                    line += 1;
                }
                if c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
        } else if ch == 'b' && next == Some('"') && (i == 0 || !is_ident(c[i - 1])) {
            i = skip_string(i + 1, &mut line);
        } else if ch == '\'' || (ch == 'b' && next == Some('\'') && (i == 0 || !is_ident(c[i - 1])))
        {
            // A character literal ('a', '\n', b'x') or a lifetime ('a).
            let q = if ch == 'b' { i + 1 } else { i };
            if c.get(q + 1) == Some(&'\\') {
                let mut j = q + 3;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if c.get(q + 2) == Some(&'\'') {
                i = q + 3;
            } else {
                let mut j = q + 1;
                while j < c.len() && is_ident(c[j]) {
                    j += 1;
                }
                i = j;
            }
        } else if is_ident(ch) {
            let start = i;
            while i < c.len() && is_ident(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            if !word.starts_with(|d: char| d.is_ascii_digit()) {
                out.push((Tok::Ident(word), line));
            }
        } else if ch == ':' && next == Some(':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// A path a file writes, made absolute from the crate root.
#[derive(Debug, Clone)]
struct PathRef {
    path: Vec<String>,
    line: usize,
    /// Written in a re-export (`pub use`).
    reexport: bool,
    /// The path as written, for messages.
    written: String,
}

/// What one file declares and refers to.
#[derive(Debug, Default)]
struct FileInfo {
    /// The module the file is (`["runtime", "task"]`; empty for lib.rs).
    module: Vec<String>,
    refs: Vec<PathRef>,
    /// Names this file imports or re-exports (`use`), to the absolute
    /// paths they stand for: `crate::x::Name` may name an item `x` imports.
    imports: BTreeMap<String, Vec<String>>,
}

/// The module a source file defines, from its path under `src/`.
fn module_of(rel: &str) -> Vec<String> {
    let rel = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Makes a written path absolute, given the module it is written in.
/// None for paths that do not start at `crate`, `super` or `self` (or, in
/// `use` declarations, at one of `children`).
fn absolute(
    written: &[String],
    here: &[String],
    children: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let first = written.first()?;
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "self" => here.to_vec(),
        "super" => {
            let mut b = here.to_vec();
            let mut rest = written;
            while rest.first().map(String::as_str) == Some("super") {
                b.pop();
                rest = &rest[1..];
            }
            b.extend(rest.iter().cloned());
            return Some(b);
        }
        name if children.contains(name) => {
            let mut b = here.to_vec();
            b.push(name.to_string());
            b.extend(written[1..].iter().cloned());
            return Some(b);
        }
        _ => return None,
    };
    base.extend(written[1..].iter().cloned());
    Some(base)
}

/// Expands a `use` tree starting at `toks[*at]` into its paths: (segments,
/// exported name).
fn use_tree(
    toks: &[Tok],
    at: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, String)>,
) {
    let mut path = prefix;
    loop {
        match toks.get(*at) {
            Some(Tok::PathSep) => *at += 1,
            Some(Tok::Ident(word)) => {
                let word = word.clone();
                *at += 1;
                if toks.get(*at) == Some(&Tok::PathSep) {
                    path.push(word);
                    continue;
                }
                let mut name = word.clone();
                if toks.get(*at) == Some(&Tok::Ident("as".into())) {
                    if let Some(Tok::Ident(alias)) = toks.get(*at + 1) {
                        name = alias.clone();
                    }
                    *at += 2;
                }
                if word != "self" {
                    path.push(word);
                } else if let Some(last) = path.last() {
                    if name == "self" {
                        name = last.clone();
                    }
                }
                out.push((path, name));
                return;
            }
            Some(Tok::Punct('*')) => {
                *at += 1;
                out.push((path, "*".into()));
                return;
            }
            Some(Tok::Punct('{')) => {
                *at += 1;
                loop {
                    match toks.get(*at) {
                        Some(Tok::Punct('}')) | None => {
                            *at += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *at += 1,
                        _ => use_tree(toks, at, path.clone(), out),
                    }
                }
            }
            _ => return,
        }
    }
}

/// True when the tokens before an item end with a visibility (`pub`,
/// `pub(crate)`, `pub(in path)`): the `use` they lead to re-exports.
fn is_pub(before: &[Tok]) -> bool {
    let is_pub_word = |t: &Tok| matches!(t, Tok::Ident(w) if w == "pub");
    match before.last() {
        Some(t) if is_pub_word(t) => true,
        Some(Tok::Punct(')')) => before
            .iter()
            .rposition(|t| *t == Tok::Punct('('))
            .is_some_and(|open| open > 0 && is_pub_word(&before[open - 1])),
        _ => false,
    }
}

/// Reads one file's paths and re-exports. `modules` holds every module a
/// file defines, to tell a module's children from other names.
fn scan(rel: &str, src: &str, modules: &BTreeSet<Vec<String>>) -> FileInfo {
    let module = module_of(rel);
    let toks: Vec<(Tok, usize)> = tokenize(src);
    let words: Vec<Tok> = toks.iter().map(|(t, _)| t.clone()).collect();
    let mut info = FileInfo {
        module: module.clone(),
        ..FileInfo::default()
    };
    // Inline modules (`mod tests { .. }`) open at a brace depth.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    // The file's child modules, which its `use` paths may start at.
    let children: BTreeSet<String> = modules
        .iter()
        .filter(|m| m.len() == module.len() + 1 && m.starts_with(&module))
        .filter_map(|m| m.last().cloned())
        .collect();
    let no_children = BTreeSet::new();
    while i < words.len() {
        let here = || -> Vec<String> {
            module
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _)| n.clone()))
                .collect()
        };
        match &words[i] {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Punct('{'))) =
                    (words.get(i + 1), words.get(i + 2))
                {
                    depth += 1;
                    inline.push((name.clone(), depth));
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Tok::Ident(w) if w == "use" => {
                let reexport = is_pub(&words[..i]);
                let line = toks[i].1;
                let mut at = i + 1;
                let mut paths = Vec::new();
                use_tree(&words, &mut at, Vec::new(), &mut paths);
                let here = here();
                // Inside an inline module, a bare name is that module's.
                let children = if inline.is_empty() {
                    &children
                } else {
                    &no_children
                };
                for (path, name) in paths {
                    if let Some(abs) = absolute(&path, &here, children) {
                        if name != "*" && inline.is_empty() {
                            info.imports.insert(name, abs.clone());
                        }
                        info.refs.push(PathRef {
                            path: abs,
                            line,
                            reexport,
                            written: path.join("::"),
                        });
                    }
                }
                while at < words.len() && words[at] != Tok::Punct(';') {
                    at += 1;
                }
                i = at + 1;
            }
            Tok::Ident(w)
                if (w == "crate" || w == "super" || w == "self")
                    && words.get(i + 1) == Some(&Tok::PathSep) =>
            {
                let preceded = i > 0 && (words[i - 1] == Tok::PathSep);
                let line = toks[i].1;
                let mut path = vec![w.clone()];
                let mut at = i + 1;
                while words.get(at) == Some(&Tok::PathSep) {
                    match words.get(at + 1) {
                        Some(Tok::Ident(seg)) => {
                            path.push(seg.clone());
                            at += 2;
                        }
                        _ => break,
                    }
                }
                if !preceded {
                    if let Some(abs) = absolute(&path, &here(), &no_children) {
                        info.refs.push(PathRef {
                            path: abs,
                            line,
                            reexport: false,
                            written: path.join("::"),
                        });
                    }
                }
                i = at;
            }
            _ => i += 1,
        }
    }
    info
}

/// The sources: (path under `src/`, text).
fn read_sources(dir: &Path, rel: &str, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let rel_name = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if path.is_dir() {
            read_sources(&path, &rel_name, out);
        } else if name.ends_with(".rs") {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            out.push((rel_name, text));
        }
    }
}

/// The crate's structure: which file defines each module, and each file's
/// references.
struct Crate {
    files: Vec<(String, FileInfo)>,
    by_module: BTreeMap<Vec<String>, usize>,
}

impl Crate {
    fn new(sources: &[(String, String)]) -> Crate {
        let modules: BTreeSet<Vec<String>> = sources.iter().map(|(r, _)| module_of(r)).collect();
        let files: Vec<(String, FileInfo)> = sources
            .iter()
            .map(|(rel, src)| (rel.clone(), scan(rel, src, &modules)))
            .collect();
        let by_module = files
            .iter()
            .enumerate()
            .map(|(i, (_, f))| (f.module.clone(), i))
            .collect();
        Crate { files, by_module }
    }

    /// The file an absolute path leads to (looking through imports and
    /// re-exports), and the absolute path of what it names there.
    fn resolve(&self, path: &[String], hops: usize) -> Option<(usize, Vec<String>)> {
        let n = (0..=path.len())
            .rev()
            .find(|n| self.by_module.contains_key(&path[..*n]))?;
        let file = self.by_module[&path[..n]];
        if hops < 8 {
            if let Some(next) = path.get(n) {
                if let Some(target) = self.files[file].1.imports.get(next) {
                    let mut target = target.clone();
                    target.extend(path[n + 1..].iter().cloned());
                    if let Some(found) = self.resolve(&target, hops + 1) {
                        return Some(found);
                    }
                }
            }
        }
        Some((file, path.to_vec()))
    }

    /// The top-level module (as `LAYERS` names it) a module path belongs to.
    fn top(module: &[String]) -> String {
        module.first().cloned().unwrap_or_else(|| "lib".to_string())
    }

    /// Every reference that crosses into a module its layer may not use:
    /// "file:line: message".
    fn layer_violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let known: BTreeSet<&str> = LAYERS.iter().map(|(m, _, _)| *m).collect();
        for (rel, info) in &self.files {
            let from = Self::top(&info.module);
            let Some((_, _, allowed)) = LAYERS.iter().find(|(m, _, _)| *m == from) else {
                out.push(format!(
                    "{rel}: module `{from}` is not in the layering table"
                ));
                continue;
            };
            for r in &info.refs {
                let Some((file, resolved)) = self.resolve(&r.path, 0) else {
                    continue;
                };
                // The module the path names, and the one that defines it.
                let is_module = |p: &[String]| {
                    p.first()
                        .is_some_and(|m| known.contains(m.as_str()) && m != "lib")
                };
                let named = if is_module(&r.path) {
                    r.path.clone()
                } else if is_module(&resolved) {
                    resolved.clone()
                } else {
                    Vec::new()
                };
                let defined = self.files[file].1.module.clone();
                for target in [&named, &defined] {
                    let to = Self::top(target);
                    if to == from {
                        continue;
                    }
                    if !allowed.iter().any(|a| allows(a, &to, target)) {
                        // Name the part of the module where only parts of
                        // it are allowed (`sql::parser`).
                        let partly = allowed.iter().any(|a| a.starts_with(&format!("{to}::")));
                        let edge = match target.get(1) {
                            Some(sub) if partly => format!("{to}::{sub}"),
                            _ => to.clone(),
                        };
                        out.push(format!(
                            "{rel}:{}: `{}` is a forbidden edge {from} -> {edge} ({from} may use: {})",
                            r.line,
                            r.written,
                            allowed.join(", ")
                        ));
                        break;
                    }
                }
            }
        }
        out
    }

    /// File -> file edges from the references (not re-exports), each with
    /// the first line that makes it.
    fn file_edges(&self) -> BTreeMap<usize, BTreeMap<usize, usize>> {
        let mut edges: BTreeMap<usize, BTreeMap<usize, usize>> = BTreeMap::new();
        for (i, (_, info)) in self.files.iter().enumerate() {
            for r in info.refs.iter().filter(|r| !r.reexport) {
                if let Some((to, _)) = self.resolve(&r.path, 0) {
                    if to != i {
                        edges.entry(i).or_default().entry(to).or_insert(r.line);
                    }
                }
            }
        }
        edges
    }

    /// Every file-level import cycle, as "a.rs:line -> b.rs:line -> a.rs".
    fn cycles(&self) -> Vec<String> {
        let edges = self.file_edges();
        // Tarjan's strongly connected components.
        struct State<'a> {
            edges: &'a BTreeMap<usize, BTreeMap<usize, usize>>,
            index: BTreeMap<usize, usize>,
            low: BTreeMap<usize, usize>,
            stack: Vec<usize>,
            on_stack: BTreeSet<usize>,
            components: Vec<Vec<usize>>,
        }
        fn visit(s: &mut State<'_>, v: usize) {
            let n = s.index.len();
            s.index.insert(v, n);
            s.low.insert(v, n);
            s.stack.push(v);
            s.on_stack.insert(v);
            let next: Vec<usize> = s
                .edges
                .get(&v)
                .map(|m| m.keys().copied().collect())
                .unwrap_or_default();
            for w in next {
                if !s.index.contains_key(&w) {
                    visit(s, w);
                    let lw = s.low[&w];
                    let lv = s.low[&v];
                    s.low.insert(v, lv.min(lw));
                } else if s.on_stack.contains(&w) {
                    let iw = s.index[&w];
                    let lv = s.low[&v];
                    s.low.insert(v, lv.min(iw));
                }
            }
            if s.low[&v] == s.index[&v] {
                let mut component = Vec::new();
                while let Some(w) = s.stack.pop() {
                    s.on_stack.remove(&w);
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                s.components.push(component);
            }
        }
        let mut state = State {
            edges: &edges,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            components: Vec::new(),
        };
        for v in 0..self.files.len() {
            if !state.index.contains_key(&v) {
                visit(&mut state, v);
            }
        }
        let mut out = Vec::new();
        for component in state.components.iter().filter(|c| c.len() > 1) {
            // One cycle through the component's first file: a shortest
            // path back to it, staying inside the component.
            let members: BTreeSet<usize> = component.iter().copied().collect();
            let start = *members.iter().next().expect("a non-empty component");
            let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            let mut end = None;
            while let Some(v) = queue.pop_front() {
                for &w in edges
                    .get(&v)
                    .map(|m| m.keys().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    if !members.contains(&w) {
                        continue;
                    }
                    if w == start {
                        end = Some(v);
                        break;
                    }
                    if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(w) {
                        e.insert(v);
                        queue.push_back(w);
                    }
                }
                if end.is_some() {
                    break;
                }
            }
            let mut path = vec![start];
            let mut at = end.unwrap_or(start);
            while at != start {
                path.push(at);
                at = prev[&at];
            }
            path[1..].reverse();
            path.push(start);
            let text: Vec<String> = path
                .windows(2)
                .map(|w| format!("{}:{}", self.files[w[0]].0, edges[&w[0]][&w[1]]))
                .chain(std::iter::once(self.files[start].0.clone()))
                .collect();
            out.push(format!("file-level import cycle: {}", text.join(" -> ")));
        }
        out
    }
}

/// The engine's sources, without its test-only files (`tests.rs`,
/// `testing.rs` and files under a `tests/` folder, compiled only under
/// `cfg(test)`): a test may reach across layers (an operator test parses
/// its expressions with the parser) without the engine depending on it.
fn engine_sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    read_sources(&src, "", &mut sources);
    sources.retain(|(path, _)| !is_test_only(path));
    sources
}

fn is_test_only(path: &str) -> bool {
    path.ends_with("/tests.rs") || path.ends_with("/testing.rs") || path.contains("/tests/")
}

#[test]
fn the_layering_table_points_one_way() {
    for (module, rank, allowed) in LAYERS {
        for a in *allowed {
            let top = a.split("::").next().unwrap_or_default();
            let Some((_, r, _)) = LAYERS.iter().find(|(m, _, _)| *m == top) else {
                panic!("{module} may use `{a}`, which is not in the table");
            };
            assert!(
                r <= rank,
                "{module} (rank {rank}) may use `{a}` of the higher rank {r}"
            );
        }
    }
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let krate = Crate::new(&engine_sources());
    let violations = krate.layer_violations();
    assert!(
        violations.is_empty(),
        "{} forbidden edge(s) between the engine's modules:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

#[test]
fn no_file_level_import_cycles() {
    let krate = Crate::new(&engine_sources());
    let cycles = krate.cycles();
    assert!(cycles.is_empty(), "{}", cycles.join("\n"));
}

/// A small crate of the given files.
fn krate(files: &[(&str, &str)]) -> Crate {
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|(r, s)| (r.to_string(), s.to_string()))
        .collect();
    Crate::new(&sources)
}

#[test]
fn upward_paths_of_every_form_are_caught() {
    let base = [
        (
            "lib.rs",
            "pub mod plan; pub mod runtime; pub mod types; pub use types::Value;",
        ),
        ("plan/mod.rs", "pub struct Planner;"),
        ("runtime/mod.rs", "pub mod task;"),
        ("types/mod.rs", "pub struct Value;"),
    ];
    for (code, caught) in [
        ("use crate::plan::Planner;", true),
        ("use crate::{types::Value, plan::Planner};", true),
        (
            "use crate::{types::{self, Value}, plan::{Planner as P}};",
            true,
        ),
        ("fn f() { let _ = crate::plan::Planner; }", true),
        ("fn f() -> Vec<crate::plan::Planner> { Vec::new() }", true),
        ("fn f() { let _ = super::super::plan::Planner; }", true),
        ("use crate::types::Value;", false),
        ("use crate::Value;", false),
        (
            "// use crate::plan::Planner;\nfn f() { let _ = \"crate::plan::Planner\"; }",
            false,
        ),
        (
            "#[cfg(test)] mod tests { use super::super::Planner; }",
            false,
        ),
    ] {
        let files: Vec<(&str, &str)> = base
            .iter()
            .copied()
            .chain([("runtime/task.rs", code)])
            .collect();
        let found = krate(&files).layer_violations();
        assert_eq!(!found.is_empty(), caught, "{code}: {found:?}");
        if caught {
            assert!(found[0].starts_with("runtime/task.rs:"), "{found:?}");
            assert!(found[0].contains("runtime -> plan"), "{found:?}");
        }
    }
}

#[test]
fn import_cycles_between_files_are_caught() {
    let cyclic = krate(&[
        ("lib.rs", "pub mod functions;"),
        (
            "functions/mod.rs",
            "pub mod bytes; pub mod string; pub use string::str_of;",
        ),
        (
            "functions/bytes.rs",
            "use super::string::str_of;\npub fn encode() {}",
        ),
        (
            "functions/string.rs",
            "pub fn str_of() {}\nfn f() { super::bytes::encode() }",
        ),
    ]);
    let cycles = cyclic.cycles();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(
        cycles[0].contains("functions/bytes.rs:1 -> functions/string.rs:2 -> functions/bytes.rs"),
        "{cycles:?}"
    );

    // A parent re-exporting its children, which use the parent, is no cycle.
    let tree = krate(&[
        ("lib.rs", "pub mod functions;"),
        (
            "functions/mod.rs",
            "pub mod string; pub use string::str_of; pub struct Registry;",
        ),
        (
            "functions/string.rs",
            "use super::Registry;\npub fn str_of() {}",
        ),
        ("functions/url.rs", "use super::str_of;"),
    ]);
    assert!(tree.cycles().is_empty(), "{:?}", tree.cycles());
}

#[test]
fn only_the_listed_part_of_a_module_may_be_used() {
    let found = krate(&[
        ("lib.rs", "pub mod operators; pub mod sql;"),
        ("sql/mod.rs", "pub mod ast; pub mod parser;"),
        ("sql/ast.rs", "pub struct Expr;"),
        ("sql/parser.rs", "pub fn parse() {}"),
        (
            "operators/mod.rs",
            "use crate::sql::ast::Expr;\nfn f() { crate::sql::parser::parse() }",
        ),
    ])
    .layer_violations();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("operators/mod.rs:2:")
            && found[0].contains("operators -> sql::parser"),
        "{found:?}"
    );
}
