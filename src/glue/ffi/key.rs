//! Open keys and guards over their typed state: `Key` (closed on drop), `Held`, `ValueMut` (the
//! compact form decoded into a caller's `Slot` and written back on drop) and `ValueRef`.

use std::ffi::{c_int, c_void};
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};

use redis_module::raw;

use super::api::api;
use super::ctx::{Ctx, RStr};
use super::value::{compact_box, decode, encode, free_ptr, ModType, Stored};
use crate::core::Now;
use crate::error::{Error, Result};

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

    /// Whether the key holds nothing.
    pub fn is_empty(&self) -> bool {
        // SAFETY: `self.0` is an open key of this command.
        unsafe { api!(RedisModule_KeyType)(self.0) as isize == raw::REDISMODULE_KEYTYPE_EMPTY }
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

impl Ctx {
    pub fn open_key(&self, name: RStr, write: bool) -> Key {
        let mode = if write {
            raw::REDISMODULE_READ | raw::REDISMODULE_WRITE
        } else {
            raw::REDISMODULE_READ
        };
        // SAFETY: `name` is an argument of the running command; the key is closed on drop.
        Key(unsafe { api!(RedisModule_OpenKey)(self.0, name, mode as c_int) as *mut _ })
    }
}
