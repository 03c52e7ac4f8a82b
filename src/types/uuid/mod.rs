//! The UUIDv7 / ULID generator type (`idgen-uid`): its encoding, its reservation and its resume.
//! Commands are in `commands.rs`; the generator logic in `crate::core::uuid`. The reservation is
//! a snowflake's with 1 ms ticks, so it resumes with the snowflake type's safety gaps.

mod commands;
mod random;

use std::ffi::CStr;

use crate::core::uuid::{UidFormat, UuidGen};
use crate::error::{Error, Result};
use crate::glue::command::{Command, CommandSet};
use crate::glue::datatype::{Generator, Type};
use crate::glue::ffi::{bytes, int, Args, ModType, RStr, Stored};
use crate::glue::rdb::{RdbIn, RdbOut, Refusal, TRUNCATED};
use crate::types::snowflake::safety;

/// Encoding 1: format code (0 UUID, 1 ULID, 2 HEX, 3 BINARY), worker (-1 for the node's),
/// position (`ms << 18 | counter`), mark, wall seen, last position, ids issued, clock-behind
/// count, resumed flag, borrowed ms, generation.
pub const ENCVER_1: i32 = 1;

/// `UUID.RESERVE` fields after the key, before the generation: mark, wall-seen, worker, format.
pub const RESERVE_FIELDS: usize = 4;

pub static HANDLE: ModType<UuidGen> = ModType::new();
pub static TYPE: Type<UuidGen> = Type::new();

impl Stored for UuidGen {
    type Compact = ();
}

impl CommandSet for UuidGen {
    fn list() -> &'static [Command] {
        commands::COMMANDS
    }
    /// Like a snowflake key, a UUID key resumes above the clock after a load, so it stays unique
    /// across a restart without AOF unless the clock also stepped back.
    const RESUMES_BY_CLOCK: bool = true;
}

/// A UUID reservation: mark and newest wall time, with the worker and format the key was
/// created with (so that a missing key is created right).
pub struct Reservation {
    mark: i64,
    wall_seen: i64,
    worker: Option<i64>,
    format: UidFormat,
}

impl Generator for UuidGen {
    const NAME: &'static CStr = c"idgen-uid";
    const ENCVER: i32 = ENCVER_1;
    const RESERVE: &'static CStr = c"UUID.RESERVE";
    type Reservation = Reservation;

    fn handle() -> &'static ModType<Self> {
        &HANDLE
    }

    fn save(&self, w: &mut RdbOut) {
        let (worker, pos, mark, wall_seen, last_pos, ids, behind, resumed, borrowed, gen) =
            self.parts();
        w.u64(self.format().code());
        w.i64(worker);
        w.u64(pos);
        w.i64(mark);
        w.i64(wall_seen);
        w.i64(last_pos);
        w.u64(ids);
        w.u64(behind as u64);
        w.bool(resumed);
        w.u64(borrowed as u64);
        w.u64(gen as u64);
    }

    fn load(r: &mut RdbIn, _encver: i32) -> std::result::Result<Self, Refusal> {
        let format = UidFormat::from_code(r.u64()?).ok_or("format")?;
        UuidGen::from_parts(
            format,
            r.i64()?,
            r.u64()?,
            r.i64()?,
            r.i64()?,
            r.i64()?,
            r.u64()?,
            r.uint(TRUNCATED)?,
            r.bool("resumed")?,
            r.uint(TRUNCATED)?,
            r.uint("generation")?,
        )
    }

    fn reservation<'a>(&'a self, out: &mut Args<'a>) {
        out.push(self.mark)
            .push(self.wall_seen)
            .push(self.worker().unwrap_or(-1))
            .push_str(self.format().name().as_bytes());
    }

    /// What replication carries and both sides keep equal: mark, worker and format.
    fn digest<'a>(&'a self, out: &mut Args<'a>) {
        out.push(self.mark)
            .push(self.worker().unwrap_or(-1))
            .push(self.format().code() as i64);
    }

    fn parse_reservation(args: &[RStr]) -> Result<Reservation> {
        if args.len() != RESERVE_FIELDS {
            return Err(Error::Arity);
        }
        let (mark, wall_seen, worker) = (int(args[0])?, int(args[1])?, int(args[2])?);
        let format = UidFormat::parse(bytes(args[3]))?;
        let worker = (worker != -1).then_some(worker);
        UuidGen::validate_worker(worker)?;
        for (name, v) in [("mark", mark), ("wall-seen", wall_seen)] {
            if v < 0 {
                return Err(Error::OutOfRange(name, 0, i64::MAX));
            }
        }
        Ok(Reservation {
            mark,
            wall_seen,
            worker,
            format,
        })
    }

    fn from_reservation(r: &Reservation) -> Self {
        UuidGen::new(r.format, r.worker)
    }

    fn apply_reservation(&mut self, r: &Reservation) -> Result<()> {
        if self.worker() != r.worker || self.format() != r.format {
            return Err(Error::LayoutMismatch);
        }
        UuidGen::apply_reservation(self, r.mark, r.wall_seen);
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
