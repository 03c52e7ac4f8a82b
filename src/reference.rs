//! `commands.json`, the machine-readable command reference, generated from the command
//! declarations (`Command { name, flags, arity, key, args, .. }`) in the format redis.io renders
//! and Redis's own `src/commands/*.json` use: summary, complexity, group, module, since, arity,
//! arguments, command flags, ACL categories and key specs, one entry per command. Internal
//! commands carry the doc flag `SYSCMD`, as Redis's own replication commands do.
//!
//! The test below fails when the checked-in file differs from what the declarations produce;
//! `make commands-json` (`IDGEN_WRITE_COMMANDS_JSON=1`) writes it.

use serde_json::{json, Map, Value};

use crate::glue::acl::MODULE_CATEGORY;
use crate::glue::command::{ArgKind, Command, KeyAccess};

/// The version the commands appeared in (every command so far: the first).
const SINCE: &str = "0.1.0";

fn text(s: &std::ffi::CStr) -> &str {
    s.to_str().expect("declarations are ASCII")
}

fn argument(a: &crate::glue::command::Arg) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(text(a.name).to_ascii_lowercase()));
    let kind = match a.kind {
        ArgKind::Key => "key",
        ArgKind::Integer => "integer",
        ArgKind::String => "string",
        ArgKind::Token => "pure-token",
    };
    m.insert("type".into(), json!(kind));
    if a.kind == ArgKind::Key {
        m.insert("key_spec_index".into(), json!(0));
    }
    if let Some(t) = a.token {
        m.insert("token".into(), json!(text(t)));
    }
    if a.optional {
        m.insert("optional".into(), json!(true));
    }
    Value::Object(m)
}

fn key_specs(cmd: &Command) -> Value {
    let flags = match cmd.key {
        KeyAccess::Read => vec!["RO", "ACCESS"],
        KeyAccess::Write => vec!["RW", "ACCESS", "UPDATE"],
        KeyAccess::NoKey => return json!([]),
    };
    json!([{
        "flags": flags,
        "begin_search": {"index": {"pos": 1}},
        "find_keys": {"range": {"lastkey": 0, "step": 1, "limit": 0}},
    }])
}

/// One command's entry.
fn entry(cmd: &Command) -> Value {
    let name = text(cmd.name);
    let group = name.split('.').next().unwrap_or(name);
    let mut categories: Vec<String> = cmd
        .acl_categories()
        .split_whitespace()
        .map(|c| format!("@{c}"))
        .collect();
    if !cmd.internal {
        // Joined at registration on servers that can add a module category (Redis 7.4+, Valkey).
        categories.push(format!("@{}", text(MODULE_CATEGORY)));
    }
    let mut m = Map::new();
    m.insert("summary".into(), json!(text(cmd.summary)));
    m.insert("complexity".into(), json!(text(cmd.complexity)));
    m.insert("group".into(), json!(group));
    m.insert("module".into(), json!("idgen"));
    m.insert("since".into(), json!(SINCE));
    m.insert("arity".into(), json!(cmd.arity));
    if cmd.internal {
        m.insert("doc_flags".into(), json!(["SYSCMD"]));
    }
    m.insert(
        "command_flags".into(),
        json!(text(cmd.flags)
            .split_whitespace()
            .map(|f| f.replace('-', "").to_ascii_uppercase())
            .collect::<Vec<_>>()),
    );
    m.insert("acl_categories".into(), json!(categories));
    m.insert("key_specs".into(), key_specs(cmd));
    m.insert(
        "arguments".into(),
        Value::Array(cmd.args.iter().map(argument).collect()),
    );
    Value::Object(m)
}

/// The whole file: every command of the release build, by upper-case name, sorted.
pub fn commands_json() -> String {
    let mut all: Vec<&Command> = crate::all_commands()
        // A test-clock build's debug command is no part of the reference.
        .filter(|c| text(c.name) != "idgen.debug-clock")
        .collect();
    all.sort_by_key(|c| text(c.name));
    let mut m = Map::new();
    for c in all {
        m.insert(text(c.name).to_ascii_uppercase(), entry(c));
    }
    serde_json::to_string_pretty(&Value::Object(m)).expect("JSON") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_json_matches_the_declarations() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("commands.json");
        let made = commands_json();
        if std::env::var_os("IDGEN_WRITE_COMMANDS_JSON").is_some() {
            std::fs::write(&path, &made).expect("write commands.json");
        }
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            kept == made,
            "commands.json differs from the command declarations: run `make commands-json` and commit it"
        );
    }
}
