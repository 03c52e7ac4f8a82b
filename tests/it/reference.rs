//! `commands.json` at the repository root: the command reference as data, generated from the
//! command declarations (`make commands-json`; a unit test of src/reference.rs fails when the
//! file differs from them). The tests take each command's expected arity and ACL categories
//! from it, so they fail when what the server reports differs from the file, and the unit test
//! when the file differs from the declarations.

use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The file's commands, by upper-case name.
pub fn commands() -> &'static Map<String, Value> {
    static COMMANDS: OnceLock<Map<String, Value>> = OnceLock::new();
    COMMANDS.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("commands.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match serde_json::from_str(&text) {
            Ok(Value::Object(m)) => m,
            other => panic!("{}: not a JSON object: {other:?}", path.display()),
        }
    })
}

/// The entry of `cmd` (any case), or panic: every command the server lists must be in the file.
fn entry(cmd: &str) -> &'static Map<String, Value> {
    commands()
        .get(&cmd.to_ascii_uppercase())
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{cmd} is not in commands.json: run `make commands-json`"))
}

/// The arity commands.json gives `cmd`.
pub fn arity(cmd: &str) -> i64 {
    entry(cmd)["arity"]
        .as_i64()
        .unwrap_or_else(|| panic!("commands.json: {cmd}: arity is not an integer"))
}

/// The ACL categories commands.json gives `cmd`, without the `@` (`@idgen` included).
pub fn acl_categories(cmd: &str) -> Vec<String> {
    entry(cmd)["acl_categories"]
        .as_array()
        .unwrap_or_else(|| panic!("commands.json: {cmd}: acl_categories is not an array"))
        .iter()
        .map(|c| {
            let c = c.as_str().expect("a category is a string");
            c.strip_prefix('@')
                .unwrap_or_else(|| panic!("commands.json: {cmd}: category {c} without @"))
                .to_string()
        })
        .collect()
}
