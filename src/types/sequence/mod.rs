//! The sequence type (`idgen-seq`): its encodings, its reservation and its resume. Commands are
//! in `commands.rs`; the sequence logic in `crate::core::sequence`.
//!
//! A sequence with the default options that issues slowly (the per-user, per-order, per-tenant
//! counter) is kept as a compact word in the key's value pointer, with no allocation (see
//! `Sequence::to_compact`); it grows into the full, boxed form when it needs to (other options, a
//! fast rate, a value past 2^33) and shrinks back when it fits again.

mod commands;
mod safety;

use std::ffi::CStr;

use crate::core::opaque::{parse_secret, Secret, SECRET_LEN};
use crate::core::period::{Period, UtcOffset};
use crate::core::sequence::{SeqFormat, SeqOptions, Sequence};
use crate::core::template::{Template, MAX_SOURCE_LEN};
use crate::error::{Error, Result};
use crate::glue::command::{Command, CommandSet};
use crate::glue::config;
use crate::glue::datatype::{Generator, Type};
use crate::glue::ffi::{bytes, int, int128, Args, ModType, RStr, Stored};
use crate::glue::rdb::{RdbIn, RdbOut, Refusal};

/// Encoding 1: start, increment, minvalue, maxvalue, cycle, cycles, next (i128), has last, last,
/// the mark's cycle (always the current one), mark (i128), rate, issued, generation.
pub const ENCVER_1: i32 = 1;
/// Encoding 2: a form word first. Form 0 (compact): the compact word, timing bits clear. Form 1
/// (full): the options, cycles, next (i128), has last, last, mark (i128), rate, issued,
/// generation. Form 2 (formatted): form 1, then PERIOD (0 none, 1 HOUR, 2 DAY, 3 MONTH,
/// 4 YEAR), UTC-OFFSET (minutes), the FORMAT template's source (empty for none), the period
/// index and the values issued in the period.
pub const ENCVER_2: i32 = 2;
/// Encoding 3: encoding 2 with form 3 (opaque): form 2's fields (PERIOD 0 and an empty template
/// when the key has neither), then the OPAQUE secret (16 bytes). Keys without OPAQUE are written
/// as in encoding 2.
pub const ENCVER_3: i32 = 3;

const FORM_COMPACT: u64 = 0;
const FORM_FULL: u64 = 1;
const FORM_FORMATTED: u64 = 2;
const FORM_OPAQUE: u64 = 3;

/// `SEQ.RESERVE` fields after the key, before the generation: AOF files written before PERIOD
/// and FORMAT carry the first 8 (cycles, mark, rate, start, increment, minvalue, maxvalue,
/// cycle); this version adds period, utc-offset (minutes), template and period index.
pub const RESERVE_FIELDS_V1: usize = 8;
pub const RESERVE_FIELDS_V2: usize = 12;
/// Since OPAQUE: a 13th field, the secret's hex text (empty without OPAQUE).
pub const RESERVE_FIELDS: usize = 13;
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

/// A sequence reservation: period, cycle and mark, the rate that sizes blocks and gaps, and the
/// options (with PERIOD, UTC-OFFSET and FORMAT).
pub struct Reservation {
    index: i64,
    cycles: u64,
    mark: i128,
    rate: u32,
    opts: SeqOptions,
    fmt: Option<SeqFormat>,
    secret: Option<Secret>,
}

/// PERIOD as stored in RDB: 0 for none.
fn period_code(p: Option<Period>) -> u64 {
    p.map_or(0, |p| {
        Period::ALL.iter().position(|x| *x == p).unwrap_or(0) as u64 + 1
    })
}

/// A persisted or replicated FORMAT: PERIOD, UTC-OFFSET minutes and template source (empty for
/// none), checked against the options.
fn format_from(
    period: Option<Period>,
    offset_minutes: i64,
    template: &[u8],
    opts: &SeqOptions,
) -> Result<SeqFormat> {
    let offset =
        UtcOffset::from_minutes(i32::try_from(offset_minutes).map_err(|_| Error::BadUtcOffset)?)?;
    let template = match template {
        [] => None,
        src => Some(Template::new(src, period, opts.min, opts.max)?),
    };
    let fmt = SeqFormat {
        period,
        offset,
        template,
    };
    fmt.validate(opts)?;
    Ok(fmt)
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
    const ENCVER: i32 = ENCVER_3;
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
        let opaque = self.opaque();
        w.u64(if opaque.is_some() {
            FORM_OPAQUE
        } else if self.format().is_some() {
            FORM_FORMATTED
        } else {
            FORM_FULL
        });
        save_options(w, &self.opts());
        w.u64(self.cycles);
        w.i128(self.next_value());
        w.bool(self.last().is_some());
        w.i64(self.last().unwrap_or(0));
        w.i128(self.mark());
        w.u64(self.rate as u64);
        w.u64(self.issued);
        w.u64(self.gen as u64);
        if self.format().is_some() || opaque.is_some() {
            let f = self.format();
            w.u64(period_code(f.and_then(|f| f.period)));
            w.i64(f.map_or(0, |f| f.offset.minutes() as i64));
            w.bytes(
                f.and_then(|f| f.template.as_ref())
                    .map_or(b"", |t| t.source().as_bytes()),
            );
            w.i64(self.period_index());
            w.u64(self.period_issued());
        }
        if let Some(p) = opaque {
            w.bytes(p.secret());
        }
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
            form @ (FORM_FORMATTED | FORM_OPAQUE) => {
                if form == FORM_OPAQUE && encver < ENCVER_3 {
                    return Err("form");
                }
                let opts = load_options(r)?;
                let s = load_state(r, opts, false)?;
                let period = match r.uint::<usize>("period")? {
                    0 => None,
                    n => Some(*Period::ALL.get(n - 1).ok_or("period")?),
                };
                let offset = r.i64()?;
                let template = r.bytes(MAX_SOURCE_LEN, "template")?;
                let fmt = format_from(period, offset, &template, &opts).map_err(|_| "format")?;
                let index = r.i64()?;
                let period_issued = r.u64()?;
                let s = s.with_format_parts(fmt, index, period_issued)?;
                if form == FORM_FORMATTED {
                    return Ok(s);
                }
                let secret = r.bytes(SECRET_LEN, "secret")?;
                let secret: Secret = secret.as_slice().try_into().map_err(|_| "secret")?;
                s.with_opaque(secret).map_err(|_| "opaque")
            }
            _ => Err("form"),
        }
    }

    fn reservation<'a>(&'a self, out: &mut Args<'a>) {
        let o = self.opts();
        out.push(self.cycles)
            .push(self.mark())
            .push(self.rate)
            .push(o.start)
            .push(o.increment)
            .push(o.min)
            .push(o.max)
            .push(o.cycle);
        let f = self.format();
        out.push_str(
            f.and_then(|f| f.period)
                .map_or("NONE", |p| p.name())
                .as_bytes(),
        )
        .push(f.map_or(0, |f| f.offset.minutes()))
        .push_str(
            f.and_then(|f| f.template.as_ref())
                .map_or(b"", |t| t.source().as_bytes()),
        )
        .push(self.period_index())
        .push_str(self.opaque().map_or(b"", |p| p.secret_hex()));
    }

    /// What replication carries and both sides keep equal: options, period, cycle and mark.
    fn digest<'a>(&'a self, out: &mut Args<'a>) {
        let o = self.opts();
        out.push(self.cycles)
            .push(self.mark())
            .push(o.start)
            .push(o.increment)
            .push(o.min)
            .push(o.max)
            .push(o.cycle);
        // A plain sequence digests as before PERIOD and FORMAT existed.
        if let Some(f) = self.format() {
            out.push(period_code(f.period))
                .push(f.offset.minutes())
                .push_str(f.template.as_ref().map_or(b"", |t| t.source().as_bytes()))
                .push(self.period_index());
        }
        // The secret's fingerprint, never the secret.
        if let Some(p) = self.opaque() {
            out.push_str(b"opaque").push_str(p.fingerprint_bytes());
        }
    }

    /// Accepts the three argument lists: `RESERVE_FIELDS_V1` (AOF files written before PERIOD
    /// and FORMAT), `RESERVE_FIELDS_V2` (before OPAQUE) and `RESERVE_FIELDS`.
    fn parse_reservation(args: &[RStr]) -> Result<Reservation> {
        if ![RESERVE_FIELDS_V1, RESERVE_FIELDS_V2, RESERVE_FIELDS].contains(&args.len()) {
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
        let (fmt, index) = if args.len() >= RESERVE_FIELDS_V2 {
            let period = match bytes(args[8]) {
                w if w.eq_ignore_ascii_case(b"NONE") => None,
                w => Some(Period::parse(w)?),
            };
            let fmt = format_from(period, int(args[9])?, bytes(args[10]), &opts)?;
            let index = int(args[11])?;
            if period.is_none() && index != 0 {
                return Err(Error::OutOfRange("period index", 0, 0));
            }
            let plain = fmt.period.is_none() && fmt.template.is_none();
            ((!plain).then_some(fmt), index)
        } else {
            (None, 0)
        };
        let secret = match args.get(12).map(|a| bytes(*a)) {
            None | Some([]) => None,
            Some(hex) => {
                // Checked here so that `from_reservation` cannot fail on it.
                Sequence::new(opts).with_opaque(parse_secret(hex)?)?;
                Some(parse_secret(hex)?)
            }
        };
        Ok(Reservation {
            index,
            cycles: cycles as u64,
            mark,
            rate: rate.min(u32::MAX as i64) as u32,
            opts,
            fmt,
            secret,
        })
    }

    fn from_reservation(r: &Reservation) -> Self {
        let plain = Sequence::new(r.opts);
        let s = match &r.fmt {
            None => plain,
            // Checked by `parse_reservation`.
            Some(f) => Sequence::new(r.opts)
                .with_format_parts(f.clone(), r.index, 0)
                .unwrap_or(plain),
        };
        match r.secret {
            None => s,
            // Checked by `parse_reservation`: START is on the domain's progression.
            Some(secret) => {
                let fallback = s.clone();
                s.with_opaque(secret).unwrap_or(fallback)
            }
        }
    }

    fn apply_reservation(&mut self, r: &Reservation) -> Result<()> {
        if self.opts() != r.opts
            || self.format() != r.fmt.as_ref()
            || self.opaque().map(|p| p.secret()) != r.secret.as_ref()
        {
            return Err(Error::LayoutMismatch);
        }
        Sequence::apply_reservation(self, r.index, r.cycles, r.mark, r.rate);
        Ok(())
    }

    fn gen(&self) -> u16 {
        self.gen
    }
    fn set_gen(&mut self, gen: u16) {
        self.gen = gen;
    }
    fn resume_gaps(&mut self, gaps: u64, now: i64) {
        let gap = safety::gap_steps(self.rate, self.opts().range_steps());
        // A period restart soon after the resume starts above START by the same gap (see
        // `Sequence::resume_until`): the lost window may have issued in the new period.
        let window = config::safety().map_or(0, |(window, _)| window);
        self.resume_until(gap.saturating_mul(gaps), now.saturating_add(window));
    }
}
