//! The shape of the source tree, checked: which module may import which (the layers
//! of `docs/ARCHITECTURE.md`), and how long a file may grow. These tests read the
//! sources as text, so a new import that points up a layer fails `cargo test`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The areas from the bottom layer up: each may import only areas listed before it.
/// `identity` (who is calling) sits above the areas whose credentials it resolves.
const LAYERS: &[&str] = &[
    "access",
    "audit",
    "environments",
    "alerts",
    "auth",
    "service_accounts",
    "connectors",
    "identity",
    "namespaces",
    "users",
    "dashboard",
];

/// Shared modules below every area; of the areas they may use only the access kernel
/// (principal, grants and patterns).
const KERNEL: &[&str] = &[
    "db",
    "web",
    "errors",
    "names",
    "crypto",
    "credential",
    "secrets",
    "config",
    "cli",
    "outbound",
    "client",
    "federation",
    "leaks",
];

/// Which area's code alone writes each table (docs/ARCHITECTURE.md).
const OWNERS: &[(&str, &[&str])] = &[
    (
        "alerts",
        &["webhooks", "webhook_deliveries", "api_key_networks"],
    ),
    (
        "access",
        &[
            "role_bindings",
            "namespace_shares",
            "user_groups",
            "group_bindings",
        ],
    ),
    ("audit", &["audit_events"]),
    ("environments", &["namespaces", "environments", "counters"]),
    (
        "auth",
        &["users", "sessions", "access_tokens", "user_identities"],
    ),
    (
        "service_accounts",
        &[
            "service_accounts",
            "api_keys",
            "key_reveals",
            "service_account_trust",
            "namespace_key_policies",
        ],
    ),
    (
        "connectors",
        &["connectors", "connector_resources", "connector_discoveries"],
    ),
];

/// No file under `src/` may be longer.
const MAX_LINES: usize = 500;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(path) else {
        return out;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}

/// The module's files: `src/<name>/**.rs` or `src/<name>.rs`.
fn module_files(name: &str) -> Vec<PathBuf> {
    let dir = src().join(name);
    if dir.is_dir() {
        rust_files(&dir)
    } else {
        rust_files(&src().join(format!("{name}.rs")))
    }
}

/// Top-level modules that `text` refers to as `crate::<name>` (also inside
/// `use crate::{a, b::c}` groups), ignoring line comments.
fn crate_references(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 || (depth == 1 && c == ',') {
                    out.insert(first_segment(&item));
                    item.clear();
                    if depth == 0 {
                        break;
                    }
                } else if depth == 1 {
                    item.push(c);
                }
            }
        } else {
            out.insert(first_segment(rest));
        }
    }
    out.remove("");
    out
}

fn first_segment(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn imports_of(module: &str) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for file in module_files(module) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        all.extend(crate_references(&text));
    }
    all.remove(module);
    all
}

/// Fails with every line of `wrong`, if any.
fn assert_none(wrong: &[String]) {
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `module imports used` for every area `module` imports that `allowed` refuses.
fn imports_refused(module: &str, allowed: impl Fn(usize) -> bool) -> Vec<String> {
    imports_of(module)
        .into_iter()
        .filter_map(|used| {
            let level = LAYERS.iter().position(|a| *a == used)?;
            (!allowed(level)).then(|| format!("{module} imports {used}"))
        })
        .collect()
}

#[test]
fn every_area_imports_only_the_layers_below_it() {
    let mut wrong = Vec::new();
    for (level, area) in LAYERS.iter().enumerate() {
        assert!(!module_files(area).is_empty(), "no files for area {area}");
        wrong.extend(imports_refused(area, |used| used < level));
    }
    assert_none(&wrong);
}

#[test]
fn kernel_modules_import_no_area_but_the_access_kernel() {
    let access = LAYERS.iter().position(|a| *a == "access");
    let mut wrong: Vec<String> = KERNEL
        .iter()
        .flat_map(|module| imports_refused(module, |used| Some(used) == access))
        .collect();
    wrong.extend(imports_refused("access", |_| false));
    assert_none(&wrong);
}

#[test]
fn no_area_reaches_into_another_areas_repo() {
    let mut wrong = Vec::new();
    for area in LAYERS {
        for file in module_files(area) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for other in LAYERS.iter().filter(|o| *o != area) {
                if text.contains(&format!("{other}::repo")) {
                    wrong.push(format!("{} uses {other}::repo", file.display()));
                }
            }
        }
    }
    assert_none(&wrong);
}

/// The tables declared in `db/schema.rs`.
fn tables() -> Vec<String> {
    let schema = std::fs::read_to_string(src().join("db/schema.rs")).unwrap_or_default();
    let mut out = Vec::new();
    let mut lines = schema.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "diesel::table! {" {
            continue;
        }
        for inner in lines.by_ref() {
            let t = inner.trim();
            if t.starts_with("#[") || t.starts_with("//") || t.is_empty() {
                continue;
            }
            out.push(first_segment(t));
            break;
        }
    }
    out
}

/// Tables that `text` inserts into, updates or deletes from (diesel DSL, also through
/// `use …::schema::table as alias`).
fn tables_written(text: &str, tables: &[String]) -> BTreeSet<String> {
    let flat: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = BTreeSet::new();
    for table in tables {
        let mut names = vec![table.clone()];
        let alias_at = format!("schema::{table}as");
        let mut rest = flat.as_str();
        while let Some(at) = rest.find(&alias_at) {
            rest = &rest[at + alias_at.len()..];
            names.push(first_segment(rest));
        }
        let written = names.iter().any(|n| {
            ["insert_into(", "update(", "delete("]
                .iter()
                .any(|verb| flat.contains(&format!("{verb}{n}::table")))
        });
        if written {
            out.insert(table.clone());
        }
    }
    out
}

#[test]
fn every_table_is_written_by_its_owning_area_only() {
    let tables = tables();
    assert!(tables.len() >= 15, "schema.rs read: {tables:?}");
    for table in &tables {
        let owners = OWNERS
            .iter()
            .filter(|(_, ts)| ts.contains(&table.as_str()))
            .count();
        assert_eq!(owners, 1, "{table} needs exactly one owner in OWNERS");
    }
    let mut wrong = Vec::new();
    let modules = LAYERS
        .iter()
        .chain(KERNEL)
        .chain(&["app", "server", "demo", "ops"]);
    for module in modules {
        let owned: &[&str] = OWNERS
            .iter()
            .find(|(area, _)| area == module)
            .map_or(&[], |(_, ts)| ts);
        for file in module_files(module) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for table in tables_written(&text, &tables) {
                if !owned.contains(&table.as_str()) {
                    wrong.push(format!("{} writes {table}", file.display()));
                }
            }
        }
    }
    assert_none(&wrong);
}

#[test]
fn writes_are_found_through_aliases_too() {
    let tables = vec!["user_groups".to_owned(), "users".to_owned()];
    let text =
        "use crate::db::schema::user_groups as ug;\ndiesel::delete(\n    ug::table.filter(x))";
    assert_eq!(
        tables_written(text, &tables)
            .into_iter()
            .collect::<Vec<_>>(),
        ["user_groups"]
    );
}

#[test]
fn no_source_file_is_over_the_line_limit() {
    let long: Vec<String> = rust_files(&src())
        .into_iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(&f).ok()?.lines().count();
            (lines > MAX_LINES).then(|| format!("{} has {lines} lines", f.display()))
        })
        .collect();
    assert_none(&long);
}

#[test]
fn references_are_read_from_paths_and_use_groups() {
    let text = "use crate::{access::{self, Grants}, audit};\nlet x = crate::db::now_ms(); // crate::users\n";
    let found: Vec<String> = crate_references(text).into_iter().collect();
    assert_eq!(found, ["access", "audit", "db"]);
}
