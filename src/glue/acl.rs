//! ACL categories of the module's commands. Each command's declaration gives the categories a
//! Redis user expects of it (`Command::acl_categories`: `@read` or `@write`, `@fast` or `@slow`,
//! from its flags); every client command is also in the module's own category `@idgen`; internal
//! commands are in none (a user gets them only through `+@all` or by name, and the command
//! itself still refuses clients). This file takes those categories as text, so it knows nothing
//! of the declarations.
//!
//! The server may lack the API: `RedisModule_SetCommandACLCategories` came with Redis 7.2 and
//! `RedisModule_AddACLCategory` with 7.4 (Valkey has both). A missing one is a NULL pointer in
//! the module API table, checked here before the call; the module then loads without the
//! categories and says so in the log and in `INFO idgen` (`acl_categories`,
//! `acl_module_category`). Both calls are accepted only while the module loads.

use std::ffi::{c_int, CStr, CString};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use redis_module::raw;

use super::ffi::{api_opt, log};

/// The module's own category: every client command of idgen (`ACL SETUSER u +@idgen`).
pub const MODULE_CATEGORY: &CStr = c"idgen";

/// What the module could do about command categories on this server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Support {
    /// The server has no `SetCommandACLCategories` (Redis 7.0): commands are in no category.
    Unsupported = 0,
    /// Every command got its declared categories.
    Set = 1,
    /// The server refused the categories of at least one command (logged with its name).
    Incomplete = 2,
}

static SUPPORT: AtomicU8 = AtomicU8::new(Support::Unsupported as u8);
static MODULE_CATEGORY_ADDED: AtomicBool = AtomicBool::new(false);

pub fn support() -> Support {
    match SUPPORT.load(Ordering::Relaxed) {
        1 => Support::Set,
        2 => Support::Incomplete,
        _ => Support::Unsupported,
    }
}

impl Support {
    /// The word `INFO idgen` shows.
    pub fn as_cstr(self) -> &'static CStr {
        match self {
            Support::Unsupported => c"unsupported",
            Support::Set => c"set",
            Support::Incomplete => c"incomplete",
        }
    }
}

/// Whether commands are in `@idgen`.
pub fn module_category_added() -> bool {
    MODULE_CATEGORY_ADDED.load(Ordering::Relaxed)
}

/// Adds `@idgen` where the server can (before any command is registered); logs why not.
pub fn add_module_category(ctx: *mut raw::RedisModuleCtx) {
    // Without the API the load log says "no @idgen" (`describe`).
    let Some(add) = api_opt!(RedisModule_AddACLCategory) else {
        return;
    };
    // SAFETY: init's context (the call is only accepted while the module loads); the name is a
    // static C string the server copies.
    let rc = unsafe { add(ctx, MODULE_CATEGORY.as_ptr()) };
    if rc == raw::REDISMODULE_OK as c_int {
        MODULE_CATEGORY_ADDED.store(true, Ordering::Relaxed);
        return;
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EBUSY) {
        // The category exists already (another module added it): the commands join it.
        MODULE_CATEGORY_ADDED.store(true, Ordering::Relaxed);
        log(
            ctx,
            c"notice",
            "ACL category @idgen already exists on this server: the idgen commands join it",
        );
    } else {
        log(
            ctx,
            c"warning",
            &format!("the server refused ACL category @idgen ({err}): commands are not in it"),
        );
    }
}

/// The categories a command is registered with: `declared` (its own, from
/// `Command::acl_categories`), plus `@idgen` for a client command when the category exists.
/// Empty for an internal command.
pub fn categories(declared: &str, internal: bool, module_category: bool) -> String {
    let mut s = declared.to_string();
    if module_category && !internal {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(MODULE_CATEGORY.to_str().unwrap_or_default());
    }
    s
}

/// Puts the just-created command `name` into its categories (`declared`, see `categories`),
/// where the server has the API. A refusal is logged and leaves the command without
/// categories; the load goes on.
pub fn set_categories(
    ctx: *mut raw::RedisModuleCtx,
    command: *mut raw::RedisModuleCommand,
    name: &CStr,
    declared: &str,
    internal: bool,
) {
    let Some(set) = api_opt!(RedisModule_SetCommandACLCategories) else {
        return;
    };
    if SUPPORT.load(Ordering::Relaxed) == Support::Unsupported as u8 {
        SUPPORT.store(Support::Set as u8, Ordering::Relaxed);
    }
    let cats = categories(declared, internal, module_category_added());
    if cats.is_empty() {
        return;
    }
    let Ok(text) = CString::new(cats.as_str()) else {
        return;
    };
    // SAFETY: `command` is the module's command, created in this load; the server parses the
    // string during the call.
    let rc = unsafe { set(command, text.as_ptr()) };
    if rc != raw::REDISMODULE_OK as c_int {
        SUPPORT.store(Support::Incomplete as u8, Ordering::Relaxed);
        log(
            ctx,
            c"warning",
            &format!(
                "the server refused ACL categories \"{cats}\" for {name:?}: the command is in no \
                 category"
            ),
        );
    }
}

/// One line for the load log: what the module did about ACL categories.
pub fn describe() -> String {
    match support() {
        Support::Unsupported => "ACL categories: not supported by this server (no \
            RedisModule_SetCommandACLCategories): idgen commands are in no category, grant them \
            by name (+snowflake.next ...) or with +@all"
            .to_string(),
        s => format!(
            "ACL categories: {} (@read or @write, @fast or @slow{}; internal commands in none)",
            s.as_cstr().to_str().unwrap_or_default(),
            if module_category_added() {
                ", and @idgen"
            } else {
                "; no @idgen: this server has no RedisModule_AddACLCategory"
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each command's categories agree with its flags, as Redis derives them for its own
    /// commands: `write` -> @write, `readonly` -> @read, `fast` -> @fast, else @slow; internal
    /// commands in none (so `+@read`, `+@write` or `+@idgen` never grant them).
    #[test]
    fn registered_categories_follow_the_flags() {
        let mut checked = 0;
        for cmd in crate::all_commands() {
            let declared = cmd.acl_categories();
            let flags: Vec<&str> = cmd.flags.to_str().unwrap().split_whitespace().collect();
            let acl: Vec<&str> = declared.split_whitespace().collect();
            let name = cmd.name.to_str().unwrap();
            if cmd.internal {
                assert!(acl.is_empty(), "internal {name} declares {acl:?}");
                assert_eq!(categories(&declared, true, true), "", "{name}");
                continue;
            }
            checked += 1;
            let has = |w: &str| acl.contains(&w);
            assert_eq!(has("write"), flags.contains(&"write"), "{name}: {acl:?}");
            assert_eq!(has("read"), flags.contains(&"readonly"), "{name}: {acl:?}");
            assert_eq!(has("fast"), flags.contains(&"fast"), "{name}: {acl:?}");
            assert_eq!(has("slow"), !flags.contains(&"fast"), "{name}: {acl:?}");
            assert!(
                !has(MODULE_CATEGORY.to_str().unwrap()),
                "{name}: added at load"
            );
            let registered = categories(&declared, false, true);
            assert!(registered.ends_with(" idgen"), "{name}: {registered}");
            assert_eq!(categories(&declared, false, false), declared);
        }
        assert!(checked >= 10, "only {checked} client commands declared");
    }
}
