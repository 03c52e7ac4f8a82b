//! ACL categories (issue 9): each client command is in `@read` or `@write` and `@fast` or
//! `@slow` as a Redis user expects, and in the module's `@idgen`; internal commands are in none.
//! Users with `+@read`, `+@read +@write` and `+@idgen` get exactly the commands those grant.
//!
//! Servers without the API (Redis 7.0 has no `RedisModule_SetCommandACLCategories`) are detected
//! from the module's `INFO idgen` (`acl_categories`), cross-checked against the server: there the
//! test checks the documented limitation instead (no command in any category) and prints a note.

use idgen_testkit::{info_field, module_commands, Conn, ModuleCommand, Server, Value};

/// The categories each command is documented with, `@idgen` aside: its `acl_categories` in
/// commands.json (generated from the declarations, which a unit test keeps it equal to), without
/// the `@`. Every command the server lists must be in the file. The file gives a client command
/// `@idgen` as well, an internal one no category: checked, and `@idgen` left out here (the server
/// shows it only where it has module ACL categories).
fn documented_categories(cmd: &str, internal: bool) -> Vec<String> {
    let mut cats = crate::reference::acl_categories(cmd);
    let n = cats.len();
    cats.retain(|c| c != "idgen");
    assert_eq!(
        n - cats.len(),
        usize::from(!internal),
        "commands.json: {cmd} (internal: {internal}) lists @idgen {} times",
        n - cats.len()
    );
    if !internal {
        // A Redis user expects each client command in @read or @write and in @fast or @slow.
        let has = |c: &str| cats.iter().any(|x| x == c);
        assert!(
            has("read") != has("write") && has("fast") != has("slow"),
            "commands.json: {cmd}: categories {cats:?}"
        );
    }
    cats
}

/// The ACL categories `COMMAND INFO` shows for `cmd`, without the `@`, sorted.
fn shown_categories(c: &mut Conn, cmd: &str) -> Vec<String> {
    let info = c.cmd(&["COMMAND", "INFO", cmd]);
    let entry = info.array()[0].array().to_vec();
    let mut cats: Vec<String> = entry[6]
        .array()
        .iter()
        .map(|v| v.as_str().trim_start_matches('@').to_string())
        .collect();
    cats.sort();
    cats
}

/// A connection authenticated as a new user with `rules` (all keys and channels).
fn user(s: &Server, name: &str, rules: &[&str]) -> Conn {
    let mut admin = s.conn();
    let mut setuser = vec!["ACL", "SETUSER", name, "reset", "on", ">pw", "~*", "&*"];
    setuser.extend_from_slice(rules);
    admin.cmd(&setuser).ok();
    let mut c = s.conn();
    c.cmd(&["AUTH", name, "pw"]).ok();
    c
}

/// Calls `m` with its minimum number of arguments (a key, then `1`s): the reply is the
/// command's own (often an error about the arguments) unless ACL refused it.
fn call(c: &mut Conn, m: &ModuleCommand) -> Value {
    let n = m.arity.unsigned_abs() as usize;
    let mut args = vec![m.name.clone(), format!("acl:{}", m.name)];
    args.resize(n.max(2), "1".to_string());
    args.truncate(n.max(1));
    c.cmd(&args)
}

fn refused(v: &Value) -> bool {
    matches!(v, Value::Error(e) if e.starts_with("NOPERM"))
}

/// Checks that `conn` may run exactly the commands `allowed` picks; reports every wrong one.
fn assert_grants(
    who: &str,
    conn: &mut Conn,
    cmds: &[ModuleCommand],
    allowed: impl Fn(&ModuleCommand) -> bool,
) {
    let mut wrong = Vec::new();
    for m in cmds {
        let r = call(conn, m);
        if refused(&r) == allowed(m) {
            wrong.push(format!(
                "{}: {} (want {})",
                m.name,
                r,
                if allowed(m) { "allowed" } else { "NOPERM" }
            ));
        }
    }
    assert!(wrong.is_empty(), "user {who}:\n{}", wrong.join("\n"));
}

/// `redis_version` of `INFO server` as (major, minor). Valkey reports its Redis-compatibility
/// level here (7.2.4 for Valkey 9), which is what the module API follows.
fn redis_version(c: &mut Conn) -> (u32, u32) {
    let v = info_field(c, "server", "redis_version").expect("INFO server has redis_version");
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[test]
fn acl_categories_grant_the_commands() {
    let s = Server::start("acl");
    let mut c = s.conn();
    let cmds = module_commands(&mut c);
    assert!(cmds.len() >= 18, "only {} commands listed", cmds.len());
    let client: Vec<&ModuleCommand> = cmds.iter().filter(|m| !m.internal).collect();
    assert!(client.len() >= 13 && client.len() < cmds.len());
    for m in &cmds {
        assert_eq!(
            documented_categories(&m.name, m.internal).is_empty(),
            m.internal,
            "{}: internal commands, and only they, have no categories",
            m.name
        );
    }
    let status = info_field(&mut c, "idgen", "idgen_acl_categories").expect("acl_categories");
    let version = redis_version(&mut c);

    if status == "unsupported" {
        // The module found no SetCommandACLCategories: only servers below 7.2 lack it.
        assert!(
            version < (7, 2),
            "the module found no ACL category API, yet the server reports redis_version {}.{} \
             (the API exists from 7.2)",
            version.0,
            version.1
        );
        for m in &cmds {
            assert_eq!(shown_categories(&mut c, &m.name), Vec::<String>::new());
        }
        // The documented limitation: only +@all or naming the command grants it.
        let mut rw = user(&s, "rw", &["+@read", "+@write"]);
        assert_grants("+@read +@write", &mut rw, &cmds, |_| false);
        let mut named = user(&s, "named", &["+snowflake.next"]);
        assert_grants("+snowflake.next", &mut named, &cmds, |m| {
            m.name == "snowflake.next"
        });
        eprintln!(
            "note: this server (redis_version {}.{}) has no ACL category API for modules: \
             checked that idgen commands are in no category; category grants not tested",
            version.0, version.1
        );
        return;
    }
    assert_eq!(status, "set", "INFO idgen acl_categories");

    let module_category =
        info_field(&mut c, "idgen", "idgen_acl_module_category").expect("acl_module_category");
    let listed = c.cmd(&["ACL", "CAT"]);
    let server_has_idgen = listed.array().iter().any(|v| v.as_str() == "idgen");
    assert_eq!(
        module_category == "idgen",
        server_has_idgen,
        "INFO says {module_category}, ACL CAT lists {listed}"
    );

    // What COMMAND INFO shows: the documented categories, plus @idgen for client commands.
    for m in &cmds {
        let mut want = documented_categories(&m.name, m.internal);
        if server_has_idgen && !m.internal {
            want.push("idgen".into());
        }
        want.sort();
        assert_eq!(shown_categories(&mut c, &m.name), want, "{}", m.name);
    }

    let reads = |m: &ModuleCommand| {
        documented_categories(&m.name, m.internal)
            .iter()
            .any(|c| c == "read")
    };
    let mut reader = user(&s, "reader", &["+@read"]);
    assert_grants("+@read", &mut reader, &cmds, reads);
    let mut rw = user(&s, "rw", &["+@read", "+@write"]);
    assert_grants("+@read +@write", &mut rw, &cmds, |m| !m.internal);
    let mut fast = user(&s, "fast", &["+@fast"]);
    assert_grants("+@fast", &mut fast, &cmds, |m| {
        documented_categories(&m.name, m.internal)
            .iter()
            .any(|c| c == "fast")
    });

    if server_has_idgen {
        let mut idgen = user(&s, "idgen", &["+@idgen"]);
        assert_grants("+@idgen", &mut idgen, &cmds, |m| !m.internal);
        // ... and nothing else.
        assert!(
            refused(&idgen.cmd(&["SET", "k", "v"])),
            "+@idgen granted SET"
        );
        assert!(refused(&idgen.cmd(&["GET", "k"])), "+@idgen granted GET");
        // Taking @idgen away from a user with every category leaves the client commands out.
        let mut all_but = user(&s, "allbut", &["+@all", "-@idgen"]);
        assert_grants("+@all -@idgen", &mut all_but, &cmds, |m| m.internal);
    } else {
        eprintln!(
            "note: this server has no RedisModule_AddACLCategory: no @idgen category, \
             its grants not tested"
        );
    }

    // The internal commands stay refused for any category grant; with +@all (or by name) the
    // module's own gate refuses a client.
    let mut admin = user(&s, "admin", &["+@all"]);
    for m in cmds.iter().filter(|m| m.internal) {
        let r = call(&mut admin, m);
        assert!(
            matches!(&r, Value::Error(e) if !e.starts_with("NOPERM")),
            "{} as +@all: {r}",
            m.name
        );
    }
}
