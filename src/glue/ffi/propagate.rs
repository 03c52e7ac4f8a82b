//! Propagation: the arguments of a propagated command built without allocation (`Args`), and
//! their emission to replicas and the AOF (`RedisModule_Replicate`) or into a rewritten AOF
//! (`RedisModule_EmitAOF`).

use std::ffi::{c_char, CStr};

use redis_module::raw;

use super::api::api;
use super::ctx::{Ctx, RStr};

/// The most arguments (after the key) one propagated command carries.
pub const MAX_ARGS: usize = 16;

/// One argument of a propagated command: an integer, or bytes borrowed from the state.
#[derive(Clone, Copy)]
pub enum Arg<'a> {
    Int(i128),
    Str(&'a [u8]),
}

/// The arguments of a propagated command (after its key), built without allocation.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    n: usize,
    v: [Arg<'a>; MAX_ARGS],
}

impl Default for Args<'_> {
    fn default() -> Self {
        Args {
            n: 0,
            v: [Arg::Int(0); MAX_ARGS],
        }
    }
}

impl<'a> Args<'a> {
    pub fn push(&mut self, v: impl Into<i128>) -> &mut Self {
        self.v[self.n] = Arg::Int(v.into());
        self.n += 1;
        self
    }
    /// A string argument (prefix, template, a word).
    pub fn push_str(&mut self, v: &'a [u8]) -> &mut Self {
        self.v[self.n] = Arg::Str(v);
        self.n += 1;
        self
    }
    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn as_slice(&self) -> &[Arg<'a>] {
        &self.v[..self.n]
    }

    /// The arguments as (pointer, length) pairs: integers as decimal text in `ints`, strings as
    /// they are.
    fn render(&self, ints: &mut [[u8; 40]; MAX_ARGS]) -> [(*const c_char, usize); MAX_ARGS] {
        use std::io::Write;
        let mut out = [(std::ptr::null::<c_char>(), 0usize); MAX_ARGS];
        for (i, v) in self.as_slice().iter().enumerate() {
            out[i] = match v {
                Arg::Int(n) => {
                    let mut cur = std::io::Cursor::new(&mut ints[i][..]);
                    let _ = write!(cur, "{n}");
                    let len = cur.position() as usize;
                    (ints[i].as_ptr() as *const c_char, len)
                }
                Arg::Str(b) => (b.as_ptr() as *const c_char, b.len()),
            };
        }
        out
    }
}

/// The format strings `s`, `sb`, `sbb`, ...: a key followed by n (pointer, length) buffers.
const FORMATS: [&CStr; MAX_ARGS + 1] = [
    c"s",
    c"sb",
    c"sbb",
    c"sbbb",
    c"sbbbb",
    c"sbbbbb",
    c"sbbbbbb",
    c"sbbbbbbb",
    c"sbbbbbbbb",
    c"sbbbbbbbbb",
    c"sbbbbbbbbbb",
    c"sbbbbbbbbbbb",
    c"sbbbbbbbbbbbb",
    c"sbbbbbbbbbbbbb",
    c"sbbbbbbbbbbbbbb",
    c"sbbbbbbbbbbbbbbb",
    c"sbbbbbbbbbbbbbbbb",
];

/// Calls a variadic emitter (`RedisModule_Replicate` or `RedisModule_EmitAOF`) with
/// `cmd key buf0 .. buf(n-1)` from rendered `Args` (each a pointer and a length). Always passes all `MAX_ARGS` pairs: the format
/// string says how many Redis reads.
macro_rules! emit {
    ($f:expr, $target:expr, $cmd:expr, $key:expr, $n:expr, $b:expr) => {{
        let b = &$b;
        let p = |i: usize| b[i].0;
        $f(
            $target,
            $cmd.as_ptr(),
            format_for($n),
            $key,
            p(0),
            b[0].1,
            p(1),
            b[1].1,
            p(2),
            b[2].1,
            p(3),
            b[3].1,
            p(4),
            b[4].1,
            p(5),
            b[5].1,
            p(6),
            b[6].1,
            p(7),
            b[7].1,
            p(8),
            b[8].1,
            p(9),
            b[9].1,
            p(10),
            b[10].1,
            p(11),
            b[11].1,
            p(12),
            b[12].1,
            p(13),
            b[13].1,
            p(14),
            b[14].1,
            p(15),
            b[15].1,
        )
    }};
}

pub fn format_for(n: usize) -> *const c_char {
    FORMATS[n].as_ptr()
}

/// Emits `cmd key args...` into a rewritten AOF.
pub fn emit_aof(io: *mut raw::RedisModuleIO, cmd: &CStr, key: RStr, args: &Args) {
    let mut ints = [[0u8; 40]; MAX_ARGS];
    let bufs = args.render(&mut ints);
    // SAFETY: `io` is the AOF rewrite handle Redis passed to the callback; as in
    // `Ctx::replicate` for the arguments.
    unsafe { emit!(api!(RedisModule_EmitAOF), io, cmd, key, args.len(), bufs) };
}

impl Ctx {
    /// Propagates this command as it was called (for absolute, idempotent commands).
    pub fn replicate_verbatim(&self) {
        // SAFETY: called from a command context.
        unsafe { api!(RedisModule_ReplicateVerbatim)(self.0) };
    }

    /// Propagates `cmd key args...` to replicas and the AOF.
    pub fn replicate(&self, cmd: &CStr, key: RStr, args: &Args) {
        let mut ints = [[0u8; 40]; MAX_ARGS];
        let bufs = args.render(&mut ints);
        // SAFETY: a command or timer context; the format names one string and `args.len()`
        // buffers, each a (pointer, length) pair into `bufs` or into the byte-string argument
        // `args` borrows, alive for the call. Extra variadic
        // arguments past the format are never read.
        unsafe {
            emit!(
                api!(RedisModule_Replicate),
                self.0,
                cmd,
                key,
                args.len(),
                bufs
            )
        };
    }
}

impl Ctx {
    /// Propagates `cmd key value word` (`SEQ.SET key value FORCE`: absolute, whatever the
    /// receiver's state).
    pub fn replicate_with_word(&self, cmd: &CStr, key: RStr, value: RStr, word: &CStr) {
        // SAFETY: a command context; the format names two strings and a C string, all passed
        // and alive for the call.
        unsafe {
            api!(RedisModule_Replicate)(
                self.0,
                cmd.as_ptr(),
                c"ssc".as_ptr(),
                key,
                value,
                word.as_ptr(),
            )
        };
    }
}
