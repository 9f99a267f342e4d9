//! No import cycles among the crate's modules (issue 14). The layering is model ← drill ←
//! provider/checks ← engine ← cli: a lower module never reaches up.
//!
//! Every `crate::…` and `super::…` path in `src/` (in `use` trees and in code, test modules
//! left out) is an edge between two sibling modules: the children, under their nearest common
//! ancestor, of the module that names the path and of the module the path leads to. A cycle
//! among the siblings of any module fails the test, which `ci/test` runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// The module a source file is, e.g. `src/provider/aws/mod.rs` → `provider::aws`.
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_owned();
        if !matches!(stem.as_str(), "mod" | "lib" | "main") {
            parts.push(stem);
        }
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text of a file without comments, string contents and its `#[cfg(test)]` module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'"' {
            // Raw strings are rare here and hold no paths that matter; skip plain strings.
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Expands a `use` tree (`crate::{a::b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    fn go(prefix: &str, t: &str, out: &mut Vec<String>) {
        let Some(open) = t.find('{') else {
            out.push(format!("{prefix}{t}"));
            return;
        };
        let head = &t[..open];
        let inner = &t[open + 1..t.len().saturating_sub(1)];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    go(&format!("{prefix}{head}"), &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if start < inner.len() {
            go(&format!("{prefix}{head}"), &inner[start..], out);
        }
    }
    let mut out = Vec::new();
    go("", &tree, &mut out);
    out
}

/// Every path a file names that starts at `crate` or `super`.
fn paths_in(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    // `use` trees first (they may group), then inline paths in the remaining code.
    let mut plain = String::new();
    while let Some(i) = rest.find("use ") {
        let boundary = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric();
        plain.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        match (boundary, after.find(';')) {
            (true, Some(end)) => {
                paths.extend(expand(&after[..end]));
                rest = &after[end + 1..];
            }
            _ => {
                plain.push_str("use ");
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    let bytes = plain.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(j) = plain[from..].find(start) {
            let i = from + j;
            let boundary =
                i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b':');
            let mut end = i;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b':')
            {
                end += 1;
            }
            if boundary {
                paths.push(plain[i..end].trim_end_matches(':').to_owned());
            }
            from = end.max(i + 1);
        }
    }
    paths
}

/// The module a path leads to (as deep as known modules go), from the module `at`.
fn target(
    path: &str,
    at: &Module,
    modules: &BTreeSet<Module>,
    file_is_mod: bool,
) -> Option<Module> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    let mut base: Module = match *parts.first()? {
        "crate" => Vec::new(),
        "super" => {
            // `super` of `a::b` (file a/b.rs) is `a`; in a mod.rs file the module is the folder.
            let _ = file_is_mod;
            let mut m = at.clone();
            m.pop()?;
            m
        }
        _ => return None,
    };
    let mut i = 1;
    while i < parts.len() && parts[i] == "super" {
        base.pop()?;
        i += 1;
    }
    for p in &parts[i..] {
        let mut next = base.clone();
        next.push((*p).to_owned());
        if modules.contains(&next) {
            base = next;
        } else {
            break;
        }
    }
    Some(base)
}

/// Cycles among the nodes of a graph: its strongly connected components with more than one
/// node.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges
        .iter()
        .flat_map(|(a, bs)| std::iter::once(a).chain(bs))
        .collect();
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for m in edges.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> = nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(*n) || !reach[n].contains(*n) {
            continue;
        }
        let scc: Vec<String> = nodes
            .iter()
            .filter(|m| reach[n].contains(**m) && reach[*m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        done.extend(scc.iter().cloned());
        out.push(scc);
    }
    out
}

fn module_edges() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(&src, f)).collect();
    // Per parent module: edges among its children.
    let mut levels: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        if f.file_name().is_some_and(|n| n == "main.rs") {
            continue; // the binary, not a module of the library
        }
        let at = module_of(&src, f);
        let is_mod = f.file_name().is_some_and(|n| n == "mod.rs");
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for p in paths_in(&code_of(&text)) {
            // In a mod.rs, `super` is the folder's parent: the module itself is the folder.
            let from = at.clone();
            let Some(to) = target(&p, &from, &modules, is_mod) else {
                continue;
            };
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            let (Some(a), Some(b)) = (from.get(common), to.get(common)) else {
                continue; // a module naming its own ancestor or descendant
            };
            levels
                .entry(from[..common].join("::"))
                .or_default()
                .entry(a.clone())
                .or_default()
                .insert(b.clone());
        }
    }
    levels
}

#[test]
fn no_module_reaches_up_into_a_cycle() {
    let levels = module_edges();
    let mut found = Vec::new();
    for (parent, edges) in &levels {
        for c in cycles(edges) {
            let name = if parent.is_empty() { "crate" } else { parent };
            found.push(format!("in {name}: {}", c.join(" <-> ")));
        }
    }
    assert!(
        found.is_empty(),
        "import cycles (a lower module reaches up):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_checker_sees_the_edges_it_should() {
    let levels = module_edges();
    let top = &levels[""];
    // The engine runs checks and drives providers; the report model is reached by most.
    assert!(top["engine"].contains("checks"), "{top:?}");
    assert!(top["engine"].contains("provider"), "{top:?}");
    assert!(top["engine"].contains("report"), "{top:?}");
    // A path in a grouped `use` is seen.
    assert_eq!(
        expand("crate::{a::b, c::{d, e}}"),
        ["crate::a::b", "crate::c::d", "crate::c::e"]
    );
    let mut e = BTreeMap::new();
    e.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    e.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    e.insert(
        "c".to_owned(),
        BTreeSet::from(["a".to_owned(), "d".to_owned()]),
    );
    assert_eq!(
        cycles(&e),
        vec![vec!["a".to_owned(), "b".into(), "c".into()]]
    );
}

/// The layers, lowest first: a module reaches only into lower layers. `model` (plain report
/// types) and `exit` (exit codes) are leaves.
#[test]
fn lower_layers_never_reach_up() {
    let layer = |m: &str| match m {
        "model" | "exit" => 0,
        "drill" => 1,
        "provider" | "report" => 2,
        "checks" | "evidence" | "scheduler" | "store" => 3,
        "engine" => 4,
        "cli" => 5,
        other => panic!("module {other} has no layer here: give it one"),
    };
    let levels = module_edges();
    let mut wrong = Vec::new();
    for (a, bs) in &levels[""] {
        for b in bs {
            if layer(b) >= layer(a) {
                wrong.push(format!("{a} -> {b}"));
            }
        }
    }
    assert!(wrong.is_empty(), "upward or sideways imports: {wrong:?}");
    assert!(!levels[""].contains_key("model"), "model imports nothing");
}
