//! The module API table: `api!` calls a function every supported server has, `api_opt!` one that
//! a newer server may lack (a NULL pointer in the table, checked before every use).

/// `RedisModule_<name>`: the module API function, resolved by Redis when the module loaded.
macro_rules! api {
    ($name:ident) => {{
        #[allow(unused_unsafe)]
        // SAFETY: Redis fills the API table once, in RedisModule_Init, before any module code
        // runs, and never writes it again: reading it is a plain load of a function pointer.
        let f = unsafe { ::redis_module::raw::$name };
        f.expect(concat!(stringify!($name), " is missing from this server"))
    }};
}
pub(crate) use api;

/// `RedisModule_<name>` if this server has it: an API newer than the oldest supported server
/// (Redis 7.0) is a NULL pointer in the table where the server lacks it, so it is checked before
/// every use.
macro_rules! api_opt {
    ($name:ident) => {{
        #[allow(unused_unsafe)]
        // SAFETY: as in `api!`: a plain load of a pointer written once before any module code.
        let f = unsafe { ::redis_module::raw::$name };
        f
    }};
}
pub(crate) use api_opt;
