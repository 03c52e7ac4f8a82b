//! The snowflake generator type (`idgen-sfk`): its encoding, its reservation and its resume.
//! Commands are in `commands.rs`; the generator logic in `crate::core::snowflake`.

mod commands;

use std::ffi::CStr;

use crate::core::snowflake::{self as sf, Layout, Snowflake, SnowflakeCompact};
use crate::error::{Error, Result};
use crate::glue::command::{Command, CommandSet};
use crate::glue::datatype::{Generator, Type};
use crate::glue::ffi::{int, Args, ModType, RStr, Stored};
use crate::glue::rdb::{RdbIn, RdbOut, Refusal, TRUNCATED};
use crate::glue::safety;

/// Encoding 1: epoch, time bits, worker bits, sequence bits, worker, position, mark, wall seen,
/// last id, ids issued, clock-behind count, borrowed ms, generation.
pub const ENCVER_1: i32 = 1;

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
}

/// A snowflake reservation: the mark and newest wall time, with the layout and worker the key
/// was created with (so that a missing key is created right).
pub struct Reservation {
    mark: i64,
    wall_seen: i64,
    layout: Layout,
    worker: Option<i64>,
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
    const ENCVER: i32 = ENCVER_1;
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
        w.i64(worker);
        w.u64(pos);
        w.i64(mark);
        w.i64(wall_seen);
        w.i64(last_id);
        w.u64(ids);
        w.u64(behind as u64);
        w.u64(borrowed as u64);
        w.u64(gen as u64);
    }

    fn load(r: &mut RdbIn, _encver: i32) -> std::result::Result<Self, Refusal> {
        let layout = Layout {
            epoch: r.i64()?,
            time_bits: r.uint("time bits")?,
            worker_bits: r.uint("worker bits")?,
            seq_bits: r.uint("sequence bits")?,
        };
        Snowflake::from_parts(
            layout,
            r.i64()?,
            r.u64()?,
            r.i64()?,
            r.i64()?,
            r.i64()?,
            r.u64()?,
            r.uint(TRUNCATED)?,
            r.uint(TRUNCATED)?,
            r.uint("generation")?,
        )
    }

    fn reservation(&self, out: &mut Args) {
        out.push(self.mark)
            .push(self.wall_seen)
            .push(self.epoch)
            .push(self.time_bits)
            .push(self.worker_bits)
            .push(self.seq_bits())
            .push(self.worker().unwrap_or(-1));
    }

    /// What replication carries and both sides keep equal: layout, worker and mark (the wall
    /// time seen moves on the primary with every call).
    fn digest(&self, out: &mut Args) {
        out.push(self.mark)
            .push(self.epoch)
            .push(self.time_bits)
            .push(self.worker_bits)
            .push(self.seq_bits())
            .push(self.worker().unwrap_or(-1));
    }

    fn parse_reservation(args: &[RStr]) -> Result<Reservation> {
        let mut v = [0i64; 7];
        if args.len() != v.len() {
            return Err(Error::Arity);
        }
        for (slot, arg) in v.iter_mut().zip(args) {
            *slot = int(*arg)?;
        }
        let [mark, wall_seen, epoch, tb, wb, sb, worker] = v;
        let layout = Layout {
            epoch,
            time_bits: bits(Some(tb), 0, "TIME-BITS", sf::TIME_BITS_RANGE)?,
            worker_bits: bits(Some(wb), 0, "WORKER-BITS", sf::WORKER_BITS_RANGE)?,
            seq_bits: bits(Some(sb), 0, "SEQUENCE-BITS", sf::SEQUENCE_BITS_RANGE)?,
        };
        layout.validate(None)?;
        let worker = (worker != -1).then_some(worker);
        Snowflake::validate_worker(&layout, worker)?;
        for (name, v) in [("mark", mark), ("wall-seen", wall_seen)] {
            if v < 0 {
                return Err(Error::OutOfRange(name, 0, i64::MAX));
            }
        }
        Ok(Reservation {
            mark,
            wall_seen,
            layout,
            worker,
        })
    }

    fn from_reservation(r: &Reservation) -> Self {
        Snowflake::new(r.layout, r.worker)
    }

    fn apply_reservation(&mut self, r: &Reservation) -> Result<()> {
        if self.layout() != r.layout || self.worker() != r.worker {
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
    fn resume_gaps(&mut self, gaps: u64, _now: i64) {
        self.resume(safety::snowflake_gap_ms().saturating_mul(gaps as i64));
    }
}
