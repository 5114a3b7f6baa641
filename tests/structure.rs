//! The library's files import each other one way: no two files (or longer circles of files)
//! import each other. Each `src/**/*.rs` of the library is read as text; every `crate::…` path
//! (in a `use`, grouped or not, or written inline) and every `super::…` path is resolved to the
//! file of the module it names, and the circles of the resulting graph are listed. A module
//! reading its own ancestors (a child using what its parent declares or re-exports) is not an
//! edge; `#[cfg(test)]` modules are left out (tests may reach anywhere).
//!
//! The binary (`src/main.rs`, `src/cli/`) is its own crate over the library and is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A library file and its module path (`["writer", "commit"]`; `[]` for `lib.rs`).
struct File {
    path: String,
    module: Vec<String>,
    text: String,
}

fn library_files(root: &Path) -> Vec<File> {
    let mut out = Vec::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel == "src/main.rs" || rel.starts_with("src/cli/") {
                continue;
            }
            let mut module: Vec<String> = rel
                .trim_start_matches("src/")
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_string)
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = without_test_modules(&std::fs::read_to_string(&path).unwrap());
            out.push(File {
                path: rel,
                module,
                text,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// `text` without comments and without the body of any `#[cfg(test)] mod … { … }`.
fn without_test_modules(text: &str) -> String {
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        // Only a test module is skipped whole; a test-only item is skipped to its end too.
        let Some(open) = after.find('{') else {
            rest = "";
            break;
        };
        let semi = after.find(';').unwrap_or(usize::MAX);
        if semi < open {
            rest = &after[semi + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Every path a file names from `crate::` or `super::`, as absolute module paths (items
/// included: resolution trims them).
fn named_paths(file: &File) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let text = &file.text;
    for (start, anchor) in [("crate::", 0usize), ("super::", 1usize)] {
        let mut from = 0;
        while let Some(at) = text[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            // A whole word: not `foo_crate::` or `lore_super::`.
            if text[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            {
                continue;
            }
            let mut base: Vec<String> = if anchor == 0 {
                Vec::new()
            } else {
                let mut m = file.module.clone();
                // `super` of a `mod.rs`/file module is its parent.
                m.pop();
                m
            };
            let mut tail = &text[at + start.len()..];
            // More `super::`.
            while let Some(t) = tail.strip_prefix("super::") {
                base.pop();
                tail = t;
            }
            for path in expand(tail) {
                let mut full = base.clone();
                full.extend(path);
                out.push(full);
            }
        }
    }
    out
}

/// The paths of a use tree's text (`a::b::{c, d::e}` → `a::b::c`, `a::b::d::e`), read up to
/// the tree's end.
fn expand(text: &str) -> Vec<Vec<String>> {
    let mut prefix = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut word = String::new();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            chars.next();
        } else if text[i..].starts_with("::") {
            prefix.push(std::mem::take(&mut word));
            chars.next();
            chars.next();
        } else if c == '{' {
            // A group: split its top-level items.
            let body = &text[i + 1..];
            let mut depth = 0usize;
            let mut items = Vec::new();
            let mut item_start = 0;
            for (j, c) in body.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        items.push(&body[item_start..j]);
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&body[item_start..j]);
                        item_start = j + 1;
                    }
                    _ => {}
                }
            }
            let mut out = Vec::new();
            for item in items {
                let item = item.trim();
                if item.is_empty() || item == "self" {
                    out.push(prefix.clone());
                    continue;
                }
                for p in expand(item) {
                    let mut full = prefix.clone();
                    full.extend(p);
                    out.push(full);
                }
            }
            return out;
        } else {
            break;
        }
    }
    if !word.is_empty() {
        prefix.push(word);
    }
    vec![prefix]
}

/// The file of the longest module prefix of `path`.
fn resolve<'a>(path: &[String], modules: &'a BTreeMap<Vec<String>, String>) -> Option<&'a str> {
    (0..=path.len())
        .rev()
        .find_map(|n| modules.get(&path[..n]))
        .map(String::as_str)
}

/// Strongly connected components of more than one file (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(targets) = s.edges.get(v) {
            for w in targets {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

fn import_graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = library_files(root);
    let modules: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|f| (f.module.clone(), f.path.clone()))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let entry = edges.entry(file.path.clone()).or_default();
        for path in named_paths(file) {
            let Some(target) = resolve(&path, &modules) else {
                continue;
            };
            let target_module = &files.iter().find(|f| f.path == target).unwrap().module;
            // Itself, or one of its ancestors: not an import between two files.
            if file.module.starts_with(target_module) {
                continue;
            }
            entry.insert(target.to_string());
        }
    }
    edges
}

#[test]
fn library_files_import_each_other_one_way() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let edges = import_graph(&root);
    assert!(edges.len() > 50, "read only {} files", edges.len());
    let found = circles(&edges);
    let describe = |c: &Vec<String>| {
        let ties: Vec<String> = c
            .iter()
            .flat_map(|a| {
                edges[a]
                    .iter()
                    .filter(|b| c.contains(b))
                    .map(move |b| format!("{a} -> {b}"))
            })
            .collect();
        ties.join(", ")
    };
    assert!(
        found.is_empty(),
        "files that import each other (make one side depend on the other only, or move what \
         both need into a module below them):\n{}",
        found.iter().map(describe).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_check_sees_what_it_should() {
    assert_eq!(
        expand("a::b::{c, d::{e, f}, self};"),
        [
            vec!["a", "b", "c"],
            vec!["a", "b", "d", "e"],
            vec!["a", "b", "d", "f"],
            vec!["a", "b"],
        ]
    );
    assert_eq!(expand("x::Y, z"), [vec!["x", "Y"]]);
    let code =
        "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\nfn f() { crate::c::d() }";
    let kept = without_test_modules(code);
    assert!(kept.contains("crate::a") && kept.contains("crate::c") && !kept.contains("crate::b"));
    let mut edges = BTreeMap::new();
    edges.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    edges.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    edges.insert("d".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circles(&edges), [vec!["a", "b", "c"]]);
}
