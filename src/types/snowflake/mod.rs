//! The snowflake generator type (`idgen-sfk`): its encoding, its reservation and its resume.
//! Commands are in `commands.rs`; the generator logic in `crate::core::snowflake`.

mod commands;
pub(crate) mod safety;

use std::ffi::CStr;

use crate::core::format::{IdFormat, Prefix, TextForm, PREFIX_MAX};
use crate::core::opaque::{parse_secret, Secret, SECRET_LEN};
use crate::core::snowflake::{self as sf, Layout, Snowflake, SnowflakeCompact};
use crate::error::{Error, Result};
use crate::glue::command::{Command, CommandSet};
use crate::glue::datatype::{Generator, Type};
use crate::glue::ffi::{bytes, int, Args, ModType, RStr, Stored};
use crate::glue::rdb::{RdbIn, RdbOut, Refusal, TRUNCATED};

/// Encoding 1 (released): epoch, time bits, worker bits, sequence bits (the three sum to 63),
/// worker, position, mark, wall seen, last id, ids issued, clock-behind count, borrowed ms,
/// generation. Loads with TIME-UNIT 1 ms, FORMAT INT and no PREFIX.
pub const ENCVER_1: i32 = 1;
/// Encoding 2: encoding 1 with TIME-UNIT (ms), FORMAT (0 INT, 1 STRING, 2 BASE32, 3 BASE62)
/// and PREFIX (a string, empty for none) after the sequence bits; bits may sum to less than 63,
/// and the position, mark and wall time count ticks of TIME-UNIT.
pub const ENCVER_2: i32 = 2;
/// Encoding 3: encoding 2, then the OPAQUE secret (16 bytes, or empty for a key without OPAQUE).
pub const ENCVER_3: i32 = 3;

/// `SNOWFLAKE.RESERVE` fields after the key, before the generation: encoding-1 era AOF files
/// carry the first 7 (mark, wall-seen, epoch, time-bits, worker-bits, sequence-bits, worker),
/// encoding 2 added time-unit, format and prefix.
pub const RESERVE_FIELDS_V1: usize = 7;
pub const RESERVE_FIELDS_V2: usize = 10;
/// Since OPAQUE: an 11th field, the secret's hex text (empty without OPAQUE).
pub const RESERVE_FIELDS: usize = 11;

pub static HANDLE: ModType<Snowflake> = ModType::new();
pub static TYPE: Type<Snowflake> = Type::new();

/// A default-layout generator with the node's worker is kept in a 32-byte compact form
/// (`Snowflake::to_compact`) instead of the 64-byte full state.
impl Stored for Snowflake {
    type Compact = SnowflakeCompact;
    const COMPACT: bool = true;
    fn pack(&self) -> Option<SnowflakeCompact> {
        self.to_compact()
    }
    fn unpack(c: &SnowflakeCompact, _now: i64) -> Self {
        Snowflake::from_compact(c)
    }
}

impl CommandSet for Snowflake {
    fn list() -> &'static [Command] {
        commands::COMMANDS
    }
    /// A key resumes above the clock after a load (`now + max-borrow-ms + one block`), so it stays
    /// unique across a restart without AOF unless the clock also stepped back.
    const RESUMES_BY_CLOCK: bool = true;
}

/// A snowflake reservation: the mark and newest wall time, with the layout, worker and text
/// form the key was created with (so that a missing key is created right).
pub struct Reservation {
    mark: i64,
    wall_seen: i64,
    layout: Layout,
    worker: Option<i64>,
    text: TextForm,
    secret: Option<Secret>,
}

/// FORMAT as stored in RDB.
fn format_code(f: IdFormat) -> u64 {
    IdFormat::ALL.iter().position(|x| *x == f).unwrap_or(0) as u64
}

/// A bit width from an option or a reservation, checked against its range.
pub(crate) fn bits(
    v: Option<i64>,
    default: u8,
    name: &'static str,
    (lo, hi): (u8, u8),
) -> Result<u8> {
    match v {
        None => Ok(default),
        Some(b) if b < lo as i64 || b > hi as i64 => {
            Err(Error::OutOfRange(name, lo as i64, hi as i64))
        }
        Some(b) => Ok(b as u8),
    }
}

impl Generator for Snowflake {
    const NAME: &'static CStr = c"idgen-sfk";
    const ENCVER: i32 = ENCVER_3;
    const RESERVE: &'static CStr = c"SNOWFLAKE.RESERVE";
    type Reservation = Reservation;

    fn handle() -> &'static ModType<Self> {
        &HANDLE
    }

    fn save(&self, w: &mut RdbOut) {
        let (worker, pos, mark, wall_seen, last_id, ids, behind, borrowed, gen) = self.parts();
        w.i64(self.epoch);
        w.u64(self.time_bits as u64);
        w.u64(self.worker_bits as u64);
        w.u64(self.seq_bits() as u64);
        w.u64(self.layout().time_unit_ms as u64);
        w.u64(format_code(self.text().format));
        w.bytes(self.text().prefix.as_bytes());
        w.i64(worker);
        w.u64(pos);
        w.i64(mark);
        w.i64(wall_seen);
        w.i64(last_id);
        w.u64(ids);
        w.u64(behind as u64);
        w.u64(borrowed as u64);
        w.u64(gen as u64);
        w.bytes(self.opaque().map_or(&[][..], |p| p.secret()));
    }

    fn load(r: &mut RdbIn, encver: i32) -> std::result::Result<Self, Refusal> {
        let mut layout = Layout {
            epoch: r.i64()?,
            time_bits: r.uint("time bits")?,
            worker_bits: r.uint("worker bits")?,
            seq_bits: r.uint("sequence bits")?,
            time_unit_ms: sf::DEFAULT_TIME_UNIT_MS,
        };
        let mut text = TextForm::default();
        if encver == ENCVER_1 {
            if layout.total_bits() != 63 {
                return Err("layout");
            }
        } else {
            layout.time_unit_ms = r.uint::<u32>("time unit")? as i64;
            let format = *IdFormat::ALL
                .get(r.uint::<usize>("format")?)
                .ok_or("format")?;
            let prefix = r.bytes(PREFIX_MAX, "prefix")?;
            let prefix = if prefix.is_empty() {
                Prefix::NONE
            } else {
                Prefix::parse(&prefix).map_err(|_| "prefix")?
            };
            text = TextForm::new(format, prefix).map_err(|_| "prefix")?;
        }
        let s = Snowflake::from_parts(
            layout,
            text,
            r.i64()?,
            r.u64()?,
            r.i64()?,
            r.i64()?,
            r.i64()?,
            r.u64()?,
            r.uint(TRUNCATED)?,
            r.uint(TRUNCATED)?,
            r.uint("generation")?,
        )?;
        if encver < ENCVER_3 {
            return Ok(s);
        }
        match r.bytes(SECRET_LEN, "secret")?.as_slice() {
            [] => Ok(s),
            secret => {
                let secret: Secret = secret.try_into().map_err(|_| "secret")?;
                s.with_opaque(secret).map_err(|_| "opaque")
            }
        }
    }

    fn reservation<'a>(&'a self, out: &mut Args<'a>) {
        out.push(self.mark)
            .push(self.wall_seen)
            .push(self.epoch)
            .push(self.time_bits)
            .push(self.worker_bits)
            .push(self.seq_bits())
            .push(self.worker().unwrap_or(-1))
            .push(self.layout().time_unit_ms)
            .push_str(self.text().format.name().as_bytes())
            .push_str(self.text().prefix.as_bytes())
            .push_str(self.opaque().map_or(b"", |p| p.secret_hex()));
    }

    /// What replication carries and both sides keep equal: layout, worker, text form and mark
    /// (the wall time seen moves on the primary with every call).
    fn digest<'a>(&'a self, out: &mut Args<'a>) {
        out.push(self.mark)
            .push(self.epoch)
            .push(self.time_bits)
            .push(self.worker_bits)
            .push(self.seq_bits())
            .push(self.worker().unwrap_or(-1));
        // A default key digests as before TIME-UNIT and FORMAT existed.
        if self.layout().time_unit_ms != sf::DEFAULT_TIME_UNIT_MS
            || *self.text() != TextForm::default()
        {
            out.push(self.layout().time_unit_ms)
                .push(format_code(self.text().format))
                .push_str(self.text().prefix.as_bytes());
        }
        // An opaque key adds its fingerprint (never the secret).
        if let Some(p) = self.opaque() {
            out.push_str(p.fingerprint_bytes());
        }
    }

    /// Accepts the three argument lists: `RESERVE_FIELDS_V1` (from AOF files written before
    /// TIME-UNIT and FORMAT; a 63-bit layout in ms, FORMAT INT), `RESERVE_FIELDS_V2` (before
    /// OPAQUE) and `RESERVE_FIELDS`.
    fn parse_reservation(args: &[RStr]) -> Result<Reservation> {
        if ![RESERVE_FIELDS_V1, RESERVE_FIELDS_V2, RESERVE_FIELDS].contains(&args.len()) {
            return Err(Error::Arity);
        }
        let mut v = [0i64; 8];
        let ints = if args.len() == RESERVE_FIELDS_V1 {
            7
        } else {
            8
        };
        for (slot, arg) in v.iter_mut().zip(&args[..ints]) {
            *slot = int(*arg)?;
        }
        let [mark, wall_seen, epoch, tb, wb, sb, worker, unit] = v;
        let layout = Layout {
            epoch,
            time_bits: bits(Some(tb), 0, "TIME-BITS", sf::TIME_BITS_RANGE)?,
            worker_bits: bits(Some(wb), 0, "WORKER-BITS", sf::WORKER_BITS_RANGE)?,
            seq_bits: bits(Some(sb), 0, "SEQUENCE-BITS", sf::SEQUENCE_BITS_RANGE)?,
            time_unit_ms: if ints == 7 {
                sf::DEFAULT_TIME_UNIT_MS
            } else {
                unit
            },
        };
        layout.validate(None)?;
        if args.len() == RESERVE_FIELDS_V1 && layout.total_bits() != 63 {
            return Err(Error::LayoutMismatch);
        }
        let text = if args.len() >= RESERVE_FIELDS_V2 {
            let prefix = match bytes(args[9]) {
                [] => Prefix::NONE,
                p => Prefix::parse(p)?,
            };
            TextForm::new(IdFormat::parse(bytes(args[8]))?, prefix)?
        } else {
            TextForm::default()
        };
        let worker = (worker != -1).then_some(worker);
        Snowflake::validate_worker(&layout, worker)?;
        for (name, v) in [("mark", mark), ("wall-seen", wall_seen)] {
            if v < 0 {
                return Err(Error::OutOfRange(name, 0, i64::MAX));
            }
        }
        let secret = match args.get(10).map(|a| bytes(*a)) {
            None | Some([]) => None,
            Some(hex) => Some(parse_secret(hex)?),
        };
        Ok(Reservation {
            mark,
            wall_seen,
            layout,
            worker,
            text,
            secret,
        })
    }

    fn from_reservation(r: &Reservation) -> Self {
        let s = Snowflake::new(r.layout, r.worker).with_text(r.text);
        match r.secret {
            None => s,
            // A validated layout's width (39 to 63 bits) is always a valid domain.
            Some(secret) => {
                let fallback = s.clone();
                s.with_opaque(secret).unwrap_or(fallback)
            }
        }
    }

    fn apply_reservation(&mut self, r: &Reservation) -> Result<()> {
        if self.layout() != r.layout
            || self.worker() != r.worker
            || *self.text() != r.text
            || self.opaque().map(|p| p.secret()) != r.secret.as_ref()
        {
            return Err(Error::LayoutMismatch);
        }
        Snowflake::apply_reservation(self, r.mark, r.wall_seen);
        Ok(())
    }

    fn gen(&self) -> u16 {
        self.gen
    }
    fn set_gen(&mut self, gen: u16) {
        self.gen = gen;
    }
    fn resume_gaps(&mut self, gaps: u64, now: i64) {
        self.resume_above(
            safety::gap_ms().saturating_mul(gaps as i64),
            Some((now, safety::clock_gap_ms())),
        );
    }
}
