//! The sequence type (`idgen-seq`): its encodings, its reservation and its resume. Commands are
//! in `commands.rs`; the sequence logic in `crate::core::sequence`.
//!
//! A sequence with the default options that issues slowly (the per-user, per-order, per-tenant
//! counter) is kept as a compact word in the key's value pointer, with no allocation (see
//! `Sequence::to_compact`); it grows into the full, boxed form when it needs to (other options, a
//! fast rate, a value past 2^33) and shrinks back when it fits again.

mod commands;

use std::ffi::CStr;

use crate::core::sequence::{SeqOptions, Sequence};
use crate::error::{Error, Result};
use crate::glue::command::{Command, CommandSet};
use crate::glue::datatype::{Generator, Type};
use crate::glue::ffi::{int, int128, Args, ModType, RStr, Stored};
use crate::glue::rdb::{RdbIn, RdbOut, Refusal};
use crate::glue::safety;

/// Encoding 1: start, increment, minvalue, maxvalue, cycle, cycles, next (i128), has last, last,
/// the mark's cycle (always the current one), mark (i128), rate, issued, generation.
pub const ENCVER_1: i32 = 1;
/// Encoding 2: a form word first. Form 0 (compact): the compact word, timing bits clear. Form 1
/// (full): the options, cycles, next (i128), has last, last, mark (i128), rate, issued,
/// generation.
pub const ENCVER_2: i32 = 2;

const FORM_COMPACT: u64 = 0;
const FORM_FULL: u64 = 1;
/// The compact word's memory-only timing bits (3-13), never written to disk.
const TIMING_BITS: u64 = 0x7FF << 3;

pub static HANDLE: ModType<Sequence> = ModType::new();
pub static TYPE: Type<Sequence> = Type::new();

impl Stored for Sequence {
    type Compact = u64;
    const COMPACT: bool = true;
    const INLINE: bool = true;
    fn pack(&self) -> Option<u64> {
        self.to_compact()
    }
    fn unpack(word: &u64, now: i64) -> Self {
        Sequence::from_compact(*word, now)
    }
    fn word(word: &u64) -> u64 {
        *word
    }
    fn unword(word: u64) -> u64 {
        word
    }
}

impl CommandSet for Sequence {
    fn list() -> &'static [Command] {
        commands::COMMANDS
    }
}

/// A sequence reservation: cycle and mark, the rate that sizes blocks and gaps, and the options.
pub struct Reservation {
    cycles: u64,
    mark: i128,
    rate: u32,
    opts: SeqOptions,
}

fn save_options(w: &mut RdbOut, o: &SeqOptions) {
    w.i64(o.start);
    w.i64(o.increment);
    w.i64(o.min);
    w.i64(o.max);
    w.bool(o.cycle);
}

fn load_options(r: &mut RdbIn) -> std::result::Result<SeqOptions, Refusal> {
    Ok(SeqOptions {
        start: r.i64()?,
        increment: r.i64()?,
        min: r.i64()?,
        max: r.i64()?,
        cycle: r.bool("cycle")?,
    })
}

/// The fields after the options, common to encodings 1 and 2 but for v1's mark-cycle field.
fn load_state(r: &mut RdbIn, opts: SeqOptions, v1: bool) -> std::result::Result<Sequence, Refusal> {
    let cycles = r.u64()?;
    let next = r.i128()?;
    let has_last = r.bool("has last")?;
    let last = r.i64()?;
    if v1 && r.u64()? != cycles {
        return Err("mark cycle");
    }
    let mark = r.i128()?;
    let rate = r.uint("rate")?;
    let issued = r.u64()?;
    let gen = r.uint("generation")?;
    let mut s = Sequence::from_parts(
        opts,
        cycles,
        next,
        has_last.then_some(last),
        mark,
        rate,
        issued,
    )?;
    s.gen = gen;
    Ok(s)
}

impl Generator for Sequence {
    const NAME: &'static CStr = c"idgen-seq";
    const ENCVER: i32 = ENCVER_2;
    const RESERVE: &'static CStr = c"SEQ.RESERVE";
    type Reservation = Reservation;

    fn handle() -> &'static ModType<Self> {
        &HANDLE
    }

    fn save(&self, w: &mut RdbOut) {
        if let Some(word) = self.to_compact() {
            w.u64(FORM_COMPACT);
            w.u64(word & !TIMING_BITS);
            return;
        }
        w.u64(FORM_FULL);
        save_options(w, &self.opts());
        w.u64(self.cycles);
        w.i128(self.next_value());
        w.bool(self.last().is_some());
        w.i64(self.last().unwrap_or(0));
        w.i128(self.mark());
        w.u64(self.rate as u64);
        w.u64(self.issued);
        w.u64(self.gen as u64);
    }

    fn load(r: &mut RdbIn, encver: i32) -> std::result::Result<Self, Refusal> {
        if encver == ENCVER_1 {
            let opts = load_options(r)?;
            return load_state(r, opts, true);
        }
        match r.u64()? {
            FORM_COMPACT => {
                let word = r.u64()?;
                let s = Sequence::from_compact(word, 0);
                // Every word below 2^63 with a next value of at least 1 is a valid state; the
                // round trip refuses the rest.
                if word & TIMING_BITS != 0 || s.to_compact() != Some(word) {
                    return Err("compact word");
                }
                Ok(s)
            }
            FORM_FULL => {
                let opts = load_options(r)?;
                load_state(r, opts, false)
            }
            _ => Err("form"),
        }
    }

    fn reservation(&self, out: &mut Args) {
        let o = self.opts();
        out.push(self.cycles)
            .push(self.mark())
            .push(self.rate)
            .push(o.start)
            .push(o.increment)
            .push(o.min)
            .push(o.max)
            .push(o.cycle);
    }

    /// What replication carries and both sides keep equal: options, cycle and mark.
    fn digest(&self, out: &mut Args) {
        let o = self.opts();
        out.push(self.cycles)
            .push(self.mark())
            .push(o.start)
            .push(o.increment)
            .push(o.min)
            .push(o.max)
            .push(o.cycle);
    }

    fn parse_reservation(args: &[RStr]) -> Result<Reservation> {
        if args.len() != 8 {
            return Err(Error::Arity);
        }
        let mark = int128(args[1])?;
        let mut v = [0i64; 7];
        for (slot, arg) in v.iter_mut().zip([0, 2, 3, 4, 5, 6, 7]) {
            *slot = int(args[arg])?;
        }
        let [cycles, rate, start, increment, min, max, cycle] = v;
        for (name, v, max) in [
            ("cycles", cycles, i64::MAX),
            ("rate", rate, i64::MAX),
            ("cycle", cycle, 1),
        ] {
            if v < 0 || v > max {
                return Err(Error::OutOfRange(name, 0, max));
            }
        }
        let opts = SeqOptions {
            start,
            increment,
            min,
            max,
            cycle: cycle == 1,
        };
        opts.validate()?;
        Sequence::check_reservation(&opts, cycles as u64, mark)?;
        Ok(Reservation {
            cycles: cycles as u64,
            mark,
            rate: rate.min(u32::MAX as i64) as u32,
            opts,
        })
    }

    fn from_reservation(r: &Reservation) -> Self {
        Sequence::new(r.opts)
    }

    fn apply_reservation(&mut self, r: &Reservation) -> Result<()> {
        if self.opts() != r.opts {
            return Err(Error::LayoutMismatch);
        }
        Sequence::apply_reservation(self, r.cycles, r.mark, r.rate);
        Ok(())
    }

    fn gen(&self) -> u16 {
        self.gen
    }
    fn set_gen(&mut self, gen: u16) {
        self.gen = gen;
    }
    fn resume_gaps(&mut self, gaps: u64, _now: i64) {
        let gap = safety::sequence_gap_steps(self.rate, self.opts().range_steps());
        self.resume(gap.saturating_mul(gaps));
    }
}
