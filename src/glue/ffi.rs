//! The thin layer over the raw Redis module API: context, keys, typed key values, arguments and
//! replies. Every raw call of the module API outside type registration goes through here, so the
//! `unsafe` of the crate is concentrated in a few small, documented places. Nothing here
//! allocates on the per-call path.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicPtr, Ordering};

use redis_module::raw;

use crate::core::Now;
use crate::error::{Error, Result};

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

pub type RStr = *mut raw::RedisModuleString;

/// The calling context of one command (or of a timer or event callback).
pub struct Ctx(pub *mut raw::RedisModuleCtx);

// ---- typed module values ----------------------------------------------------------------------

/// What a module data type stores in a key. The value pointer Redis keeps is either a `Box<Self>`
/// (the full form; aligned, low bit 0) or, for a state that has a compact form, that form with
/// the low bit set: kept in the pointer itself (`INLINE`: a word of at most 63 bits, no
/// allocation at all) or in a small box of its own. Only this module's code ever reads the
/// pointer (Redis hands it back to the type's own callbacks), so the encoding is private to us.
pub trait Stored: Sized + 'static {
    /// The compact form (`()` for a type without one).
    type Compact: Copy + PartialEq;
    /// Whether some states have a compact form (`pack` can return `Some`).
    const COMPACT: bool = false;
    /// Whether the compact form is a word kept in the pointer itself (see `word`, `unword`).
    const INLINE: bool = false;
    /// The compact form of this state, when it has one.
    fn pack(&self) -> Option<Self::Compact> {
        None
    }
    /// The state a compact form stands for. `now` (unix ms) restores memory-only timing that the
    /// form keeps coarsely.
    fn unpack(_c: &Self::Compact, _now: i64) -> Self {
        unreachable!("a type without a compact form has no compact values")
    }
    /// For an `INLINE` type: the word (at most 63 bits) of a compact form, and back.
    fn word(_c: &Self::Compact) -> u64 {
        unreachable!("not an inline type")
    }
    fn unword(_w: u64) -> Self::Compact {
        unreachable!("not an inline type")
    }
}

/// A module data type created at load, typed by the Rust state `T` its keys hold: safe code can
/// only read a key as the type the handle was created for.
pub struct ModType<T> {
    raw: AtomicPtr<raw::RedisModuleType>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Stored> Default for ModType<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Stored> ModType<T> {
    pub const fn new() -> Self {
        ModType {
            raw: AtomicPtr::new(std::ptr::null_mut()),
            _t: PhantomData,
        }
    }

    pub fn set_raw(&self, t: *mut raw::RedisModuleType) {
        self.raw.store(t, Ordering::Relaxed);
    }

    fn raw(&self) -> *mut raw::RedisModuleType {
        self.raw.load(Ordering::Relaxed)
    }
}

/// Turns a state into the value pointer Redis keeps: its compact form when it has one, else a
/// box of the full state.
pub fn into_ptr<T: Stored>(state: T) -> *mut c_void {
    if T::COMPACT {
        if let Some(c) = state.pack() {
            return encode::<T>(c);
        }
    }
    Box::into_raw(Box::new(state)) as *mut c_void
}

/// The tagged pointer of a compact form.
fn encode<T: Stored>(c: T::Compact) -> *mut c_void {
    let bits = if T::INLINE {
        T::word(&c) << 1
    } else {
        Box::into_raw(Box::new(c)) as usize as u64
    };
    (bits | 1) as usize as *mut c_void
}

/// The compact form behind a tagged pointer; `None` for a full state's box.
fn decode<T: Stored>(ptr: *const c_void) -> Option<T::Compact> {
    let bits = ptr as usize as u64;
    if bits & 1 == 0 {
        None
    } else if T::INLINE {
        Some(T::unword(bits >> 1))
    } else {
        // SAFETY: a tagged pointer of a non-inline type is a live `Box<T::Compact>` made by
        // `encode` (callers pass pointers Redis holds for this type).
        Some(unsafe { *compact_box::<T>(ptr) })
    }
}

fn compact_box<T: Stored>(ptr: *const c_void) -> *mut T::Compact {
    (ptr as usize & !1) as *mut T::Compact
}

/// Frees the small box behind a tagged pointer (nothing to free for an inline word).
///
/// # Safety
/// `ptr` must be a tagged pointer made by `encode::<T>` that nothing references any more.
unsafe fn free_compact<T: Stored>(ptr: *mut c_void) {
    if !T::INLINE {
        // SAFETY: the caller's contract.
        drop(unsafe { Box::from_raw(compact_box::<T>(ptr)) });
    }
}

/// Reads a value pointer made by `into_ptr`.
///
/// # Safety
/// `ptr` must come from `into_ptr::<T>` (or a `ValueMut` of `T`) and still be held by Redis.
pub unsafe fn with_ptr<T: Stored, R>(ptr: *const c_void, f: impl FnOnce(&T) -> R) -> R {
    match decode::<T>(ptr) {
        Some(c) => f(&T::unpack(&c, 0)),
        // SAFETY: not tagged, so a live `Box<T>` (the caller's contract).
        None => f(unsafe { &*(ptr as *const T) }),
    }
}

/// Frees a value pointer made by `into_ptr`.
///
/// # Safety
/// As `with_ptr`, and Redis must be done with it.
pub unsafe fn free_ptr<T: Stored>(ptr: *mut c_void) {
    if ptr as usize & 1 == 1 {
        // SAFETY: the caller's contract.
        unsafe { free_compact::<T>(ptr) };
    } else {
        // SAFETY: a full state's box (the caller's contract).
        drop(unsafe { Box::from_raw(ptr as *mut T) });
    }
}

/// Heap bytes behind a value pointer: the full state's box, the compact form's box, or none for
/// an inline word.
pub fn heap_size<T: Stored>(ptr: *const c_void) -> usize {
    match (ptr as usize & 1 == 1, T::INLINE) {
        (false, _) => std::mem::size_of::<T>(),
        (true, false) => std::mem::size_of::<T::Compact>(),
        (true, true) => 0,
    }
}

// ---- keys --------------------------------------------------------------------------------------

/// An open key, closed on drop.
pub struct Key(*mut raw::RedisModuleKey);

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: the handle came from OpenKey in this command and is closed exactly once.
        unsafe { api!(RedisModule_CloseKey)(self.0) }
    }
}

/// Room on the caller's stack for a state decoded from its compact form (see `Key::value_mut`):
/// the decoded state is never moved around, only pointed to.
pub struct Slot<T>(MaybeUninit<T>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(MaybeUninit::uninit())
    }
}

/// A key's state, borrowed for a command: the full state in its box, or the compact form decoded
/// into a `Slot` and written back when the guard drops (in place, as a new word, or boxed into
/// the full form when it no longer fits). A full state that fits a compact form again is shrunk
/// back.
pub struct ValueMut<'k, T: Stored> {
    key: &'k Key,
    ty: &'k ModType<T>,
    /// The box, or the slot holding the decoded compact form.
    state: *mut T,
    /// For a decoded compact form: the pointer and the form it came from.
    packed: Option<(*mut c_void, T::Compact)>,
    /// Choose a full state's form again on drop (see `reshape`).
    reshape: bool,
}

impl<T: Stored> ValueMut<'_, T> {
    /// Asks for the form to be chosen again when the guard drops: a full state that fits a
    /// compact form is shrunk. Callers ask when a key's reservation moved, the only time its
    /// block (and so its fit) changes; a full state is otherwise left as it is, so a busy key's
    /// calls pay nothing for the compact forms.
    pub fn reshape(&mut self) {
        self.reshape = true;
    }
}

impl<T: Stored> Deref for ValueMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `state` is the key's box or an initialized slot; both outlive the guard ('k),
        // and the guard holds the only reference.
        unsafe { &*self.state }
    }
}

impl<T: Stored> DerefMut for ValueMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the guard is borrowed mutably.
        unsafe { &mut *self.state }
    }
}

impl<T: Stored> Drop for ValueMut<'_, T> {
    fn drop(&mut self) {
        // The hot path (a full state, its reservation unchanged) only tests two fields.
        if T::COMPACT && (self.packed.is_some() || self.reshape) {
            self.settle();
        }
    }
}

impl<T: Stored> ValueMut<'_, T> {
    /// Writes a compact state back, or chooses a full state's form again (see `Drop`).
    #[inline(never)]
    fn settle(&mut self) {
        // (the new pointer, the old allocation to free after the swap)
        let (new, old): (*mut c_void, Option<*mut c_void>) = match self.packed {
            Some((ptr, was)) => {
                // SAFETY: the slot was initialized by `value_mut` and is not used after this.
                let state = unsafe { std::ptr::read(self.state) };
                match state.pack() {
                    Some(c) if c == was => return,
                    Some(c) if !T::INLINE => {
                        // SAFETY: the small box behind `ptr`, owned by the key and referenced by
                        // nothing else while the guard lives.
                        unsafe { *compact_box::<T>(ptr) = c };
                        return;
                    }
                    Some(c) => (encode::<T>(c), None),
                    None => (
                        Box::into_raw(Box::new(state)) as *mut c_void,
                        (!T::INLINE).then_some(ptr),
                    ),
                }
            }
            None if !self.reshape => return,
            None => match self.pack() {
                Some(c) => (encode::<T>(c), Some(self.state as *mut c_void)),
                None => return,
            },
        };
        let mut previous: *mut c_void = std::ptr::null_mut();
        // SAFETY: the key is open for writing (a `ValueMut` only comes from `value_mut` and
        // `set`) and holds this type; Redis swaps the pointer without freeing the old one.
        unsafe {
            api!(RedisModule_ModuleTypeReplaceValue)(self.key.0, self.ty.raw(), new, &mut previous)
        };
        if let Some(old) = old {
            // SAFETY: the old allocation, no longer referenced by Redis after the swap.
            unsafe { free_ptr::<T>(old) };
        }
    }
}

/// A key's state for reading: borrowed from its box, or decoded from its compact word.
pub enum ValueRef<'k, T> {
    Borrowed(&'k T),
    Owned(T),
}

impl<T> Deref for ValueRef<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            ValueRef::Borrowed(v) => v,
            ValueRef::Owned(v) => v,
        }
    }
}

/// A key found holding type `T` (see `Key::held`): what `Held::value_mut` needs to borrow its
/// state. Small and plain, so the hot path passes it in registers and builds the state's guard
/// where it is used (a guard wrapped in `Result<Option<..>>` was copied through the stack).
pub struct Held<'k, T: Stored> {
    key: &'k Key,
    ty: &'k ModType<T>,
    ptr: *mut c_void,
}

impl<'k, T: Stored> Held<'k, T> {
    /// The key's state for updating (the key must be open for writing); a compact form is
    /// decoded into `slot`.
    #[inline(always)]
    pub fn value_mut(self, now: impl Now, slot: &'k mut Slot<T>) -> ValueMut<'k, T> {
        let Held { key, ty, ptr } = self;
        match decode::<T>(ptr) {
            Some(c) => ValueMut {
                key,
                ty,
                state: slot.0.write(T::unpack(&c, now.ms())),
                packed: Some((ptr, c)),
                reshape: false,
            },
            None => ValueMut {
                key,
                ty,
                state: ptr as *mut T,
                packed: None,
                reshape: false,
            },
        }
    }
}

impl Key {
    /// The raw value pointer if the key holds `ty`, `None` if it is empty, `WRONGTYPE` otherwise.
    #[inline(always)]
    fn ptr<T: Stored>(&self, ty: &ModType<T>) -> Result<Option<*mut c_void>> {
        // SAFETY: `self.0` is an open key of this command.
        unsafe {
            // The common case first: the key holds our type.
            if api!(RedisModule_ModuleTypeGetType)(self.0) == ty.raw() {
                return Ok(Some(api!(RedisModule_ModuleTypeGetValue)(self.0)));
            }
            if api!(RedisModule_KeyType)(self.0) as isize == raw::REDISMODULE_KEYTYPE_EMPTY {
                Ok(None)
            } else {
                Err(Error::WrongType)
            }
        }
    }

    /// The key if it holds `ty`, `None` if it is empty, `WRONGTYPE` otherwise.
    #[inline(always)]
    pub fn held<'k, T: Stored>(&'k self, ty: &'k ModType<T>) -> Result<Option<Held<'k, T>>> {
        Ok(self.ptr(ty)?.map(|ptr| Held { key: self, ty, ptr }))
    }

    /// The key's state for reading.
    pub fn value<'k, T: Stored>(
        &'k self,
        ty: &ModType<T>,
        now: impl Now,
    ) -> Result<Option<ValueRef<'k, T>>> {
        Ok(self.ptr(ty)?.map(|p| match decode::<T>(p) {
            Some(c) => ValueRef::Owned(T::unpack(&c, now.ms())),
            // SAFETY: a box of `T` held by the key (the type handle says so).
            None => ValueRef::Borrowed(unsafe { &*(p as *const T) }),
        }))
    }

    /// The key's state for updating (the key must be open for writing); a compact form is
    /// decoded into `slot`.
    pub fn value_mut<'k, T: Stored>(
        &'k self,
        ty: &'k ModType<T>,
        now: impl Now,
        slot: &'k mut Slot<T>,
    ) -> Result<Option<ValueMut<'k, T>>> {
        Ok(self.held(ty)?.map(|h| h.value_mut(now, slot)))
    }

    /// Stores `state` in the empty key (open for writing) and returns it for further updates.
    pub fn set<'k, T: Stored>(&'k self, ty: &'k ModType<T>, state: T) -> ValueMut<'k, T> {
        let ptr = Box::into_raw(Box::new(state));
        // SAFETY: the key is open for writing and empty (callers checked); Redis takes the box
        // and hands it back to the type's `free`.
        unsafe { api!(RedisModule_ModuleTypeSetValue)(self.0, ty.raw(), ptr as *mut c_void) };
        // The guard shrinks the box to a compact form on drop when the state has one.
        ValueMut {
            key: self,
            ty,
            state: ptr,
            packed: None,
            reshape: true,
        }
    }
}

// ---- context: flags, keys, replies, propagation ------------------------------------------------

impl Ctx {
    pub fn flags(&self) -> u32 {
        // SAFETY: `self.0` is the context Redis passed to this callback.
        unsafe { api!(RedisModule_GetContextFlags)(self.0) as u32 }
    }

    /// The command came over the primary's replication link or from the AOF, not from a client.
    pub fn is_replicated_or_loading(&self) -> bool {
        self.flags() & (raw::REDISMODULE_CTX_FLAGS_REPLICATED | raw::REDISMODULE_CTX_FLAGS_LOADING)
            != 0
    }

    pub fn open_key(&self, name: RStr, write: bool) -> Key {
        let mode = if write {
            raw::REDISMODULE_READ | raw::REDISMODULE_WRITE
        } else {
            raw::REDISMODULE_READ
        };
        // SAFETY: `name` is an argument of the running command; the key is closed on drop.
        Key(unsafe { api!(RedisModule_OpenKey)(self.0, name, mode as c_int) as *mut _ })
    }

    pub fn reply_int(&self, v: i64) {
        // SAFETY: replies go to the running command's client.
        unsafe { api!(RedisModule_ReplyWithLongLong)(self.0, v) };
    }
    pub fn reply_ok(&self) {
        // SAFETY: as in `reply_int`; the status text is a static C string.
        unsafe { api!(RedisModule_ReplyWithSimpleString)(self.0, c"OK".as_ptr()) };
    }
    pub fn reply_null(&self) {
        // SAFETY: as in `reply_int`.
        unsafe { api!(RedisModule_ReplyWithNull)(self.0) };
    }
    pub fn reply_array(&self, len: usize) {
        // SAFETY: as in `reply_int`; the caller then replies `len` elements.
        unsafe { api!(RedisModule_ReplyWithArray)(self.0, len as _) };
    }
    /// A map under RESP3, a flat field/value array under RESP2 (Redis converts).
    pub fn reply_map(&self, pairs: usize) {
        // SAFETY: as in `reply_int`; the caller then replies `pairs` key/value pairs.
        unsafe { api!(RedisModule_ReplyWithMap)(self.0, pairs as _) };
    }
    pub fn reply_bulk(&self, s: &[u8]) {
        // SAFETY: as in `reply_int`; Redis copies the bytes.
        unsafe {
            api!(RedisModule_ReplyWithStringBuffer)(self.0, s.as_ptr() as *const c_char, s.len())
        };
    }

    /// Replies with a map of name -> integer, string or nil.
    pub fn reply_fields(&self, fields: &[(&str, Field)]) {
        self.reply_map(fields.len());
        for (name, v) in fields {
            self.reply_bulk(name.as_bytes());
            match v {
                Field::Int(v) => self.reply_int(*v),
                Field::Str(s) => self.reply_bulk(s),
                Field::Nil => self.reply_null(),
            }
        }
    }

    pub fn reply_error(&self, e: &Error) {
        if matches!(e, Error::Arity) {
            // SAFETY: as in `reply_int`.
            unsafe { api!(RedisModule_WrongArity)(self.0) };
            return;
        }
        let text = c_text(&e.to_string());
        // SAFETY: as in `reply_int`; `text` is NUL-terminated and Redis copies it.
        unsafe { api!(RedisModule_ReplyWithError)(self.0, text.as_ptr() as *const c_char) };
    }

    /// Propagates this command as it was called (for absolute, idempotent commands).
    pub fn replicate_verbatim(&self) {
        // SAFETY: called from a command context.
        unsafe { api!(RedisModule_ReplicateVerbatim)(self.0) };
    }

    /// Emits keyspace event `event` (module class, `d` in `notify-keyspace-events`) on `key`.
    pub fn notify(&self, event: &CStr, key: RStr) {
        // SAFETY: a command context; `event` is NUL-terminated and `key` an argument of the
        // running command; Redis copies both.
        unsafe {
            api!(RedisModule_NotifyKeyspaceEvent)(
                self.0,
                raw::REDISMODULE_NOTIFY_MODULE,
                event.as_ptr(),
                key,
            )
        };
    }

    pub fn log_warning(&self, msg: &str) {
        log(self.0, c"warning", msg);
    }
}

/// The value of one field of an INFO-like map reply.
pub enum Field<'a> {
    Int(i64),
    Str(&'a [u8]),
    Nil,
}

impl From<i64> for Field<'_> {
    fn from(v: i64) -> Self {
        Field::Int(v)
    }
}

impl From<Option<i64>> for Field<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Field::Nil, Field::Int)
    }
}

impl<'a> From<Option<&'a [u8]>> for Field<'a> {
    fn from(v: Option<&'a [u8]>) -> Self {
        v.map_or(Field::Nil, Field::Str)
    }
}

/// `msg` as a C string: NULs, CR and LF dropped (they would cut or break a reply or log line).
fn c_text(msg: &str) -> Vec<u8> {
    let mut text: Vec<u8> = msg
        .bytes()
        .filter(|&b| b != 0 && b != b'\r' && b != b'\n')
        .collect();
    text.push(0);
    text
}

/// Logs at `level` (`warning`, `notice`, ...). `ctx` may be null (then Redis logs without a
/// module context).
pub fn log(ctx: *mut raw::RedisModuleCtx, level: &CStr, msg: &str) {
    let text = c_text(&format!("idgen: {msg}"));
    // SAFETY: Redis accepts a null context here; both strings are NUL-terminated.
    unsafe { api!(RedisModule_Log)(ctx, level.as_ptr(), c"%s".as_ptr(), text.as_ptr()) };
}

// ---- command arguments -------------------------------------------------------------------------

/// The bytes of an argument.
pub fn bytes<'a>(s: RStr) -> &'a [u8] {
    let mut len = 0usize;
    // SAFETY: `s` is an argument of the running command; Redis returns its buffer and length,
    // valid while the command runs.
    unsafe {
        let p = api!(RedisModule_StringPtrLen)(s, &mut len);
        std::slice::from_raw_parts(p as *const u8, len)
    }
}

/// An argument as a signed 64-bit integer, Redis's rules (no spaces, no leading `+`).
pub fn int(s: RStr) -> Result<i64> {
    let mut v: i64 = 0;
    // SAFETY: `s` is an argument of the running command.
    let rc = unsafe { api!(RedisModule_StringToLongLong)(s, &mut v) };
    if rc == raw::REDISMODULE_OK as c_int {
        Ok(v)
    } else {
        Err(Error::NotInteger)
    }
}

/// An argument as an `i128` (internal commands carry values up to MAXVALUE + 1).
pub fn int128(s: RStr) -> Result<i128> {
    std::str::from_utf8(bytes(s))
        .ok()
        .and_then(|t| t.parse::<i128>().ok())
        .ok_or(Error::NotInteger)
}

// ---- propagated arguments ----------------------------------------------------------------------

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
            $crate::glue::ffi::format_for($n),
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
