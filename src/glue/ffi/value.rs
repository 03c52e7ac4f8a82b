//! The encoding of a typed module value: the pointer Redis keeps for a key is a boxed full state
//! or a tagged compact form (an inline word or a small box). Every reader of that pointer goes
//! through here.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicPtr, Ordering};

use redis_module::raw;

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

    pub(super) fn raw(&self) -> *mut raw::RedisModuleType {
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
pub(super) fn encode<T: Stored>(c: T::Compact) -> *mut c_void {
    let bits = if T::INLINE {
        T::word(&c) << 1
    } else {
        Box::into_raw(Box::new(c)) as usize as u64
    };
    (bits | 1) as usize as *mut c_void
}

/// The compact form behind a tagged pointer; `None` for a full state's box.
pub(super) fn decode<T: Stored>(ptr: *const c_void) -> Option<T::Compact> {
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

pub(super) fn compact_box<T: Stored>(ptr: *const c_void) -> *mut T::Compact {
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
