//! Every error a command can reply with, in one place, each mapped to a Redis error text that
//! starts with an error code. Nothing else in the crate builds error strings for users.

use std::fmt;

/// A domain error. `Display` gives the exact Redis error reply, code first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Wrong number of arguments (replied with Redis's own text, which names the command).
    Arity,
    WrongType,
    NotInteger,
    UnknownOption(String),
    MissingValue(&'static str),
    DuplicateOption(&'static str),
    NoSuchKey,
    KeyExists,
    /// A numeric option outside its range: option name, low, high.
    OutOfRange(&'static str, i64, i64),
    BitsSum(u32),
    EpochInFuture,
    EpochNegative,
    CountRange(i64),
    BorrowLimit(i64),
    TimeBitsExhausted,
    WorkerDoesNotFit {
        worker: i64,
        bits: u8,
    },
    ForeignId,
    MinNotBelowMax,
    StartOutsideRange,
    IncrementRange,
    Exhausted(i64),
    NotEnoughLeft {
        remain: i128,
        requested: i64,
    },
    BatchLargerThanRange,
    CountNotPositive,
    ValueOutsideRange,
    WouldRepeat,
    LayoutMismatch,
    /// Worker-ID pool: no ID can be granted now; the next one frees up in this many ms.
    PoolFull {
        retry_ms: i64,
    },
    /// Worker-ID pool: resumed after a load or promotion, it grants no ID for this many ms (a
    /// grant it never received may still be in use).
    PoolResuming {
        retry_ms: i64,
    },
    /// Worker-ID pool: the caller no longer holds the ID (expired, released, or a newer grant).
    LeaseLost {
        id: i64,
        why: &'static str,
    },
    /// Worker-ID pool: every fencing token up to 2^63-1 was handed out (reachable only through
    /// a damaged reservation).
    TokensExhausted,
    /// Worker-ID pool: an option fixed at creation (`SIZE`, `GRACE`) given with another value.
    PoolOptionDiffers(&'static str),
    /// An internal command (`*.RESERVE`, `WORKER.EFFECT`, `IDGEN.GENERATION`) sent by a client.
    InternalCommand,
    Internal(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        match self {
            Arity => f.write_str("ERR wrong number of arguments"),
            WrongType => f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value"),
            NotInteger => f.write_str("ERR value is not an integer or out of range"),
            UnknownOption(o) => write!(f, "ERR syntax error, unknown option '{o}'"),
            MissingValue(o) => write!(f, "ERR syntax error, option '{o}' needs a value"),
            DuplicateOption(o) => write!(f, "ERR syntax error, option '{o}' given twice"),
            NoSuchKey => f.write_str("ERR no such key"),
            KeyExists => f.write_str("BUSYKEY generator already exists"),
            OutOfRange(name, lo, hi) => write!(f, "ERR {name} must be between {lo} and {hi}"),
            BitsSum(sum) => write!(
                f,
                "ERR TIME-BITS + WORKER-BITS + SEQUENCE-BITS must be 63, got {sum}"
            ),
            EpochInFuture => f.write_str("ERR EPOCH must not be in the future"),
            EpochNegative => f.write_str("ERR EPOCH must not be negative"),
            CountRange(max) => write!(f, "ERR COUNT must be between 1 and {max}"),
            BorrowLimit(max) => write!(
                f,
                "ERR clock: the generator would run more than idgen.max-borrow-ms ({max}) ahead of the clock, retry later"
            ),
            TimeBitsExhausted => f.write_str(
                "ERR time bits exhausted: the generator's TIME-BITS cannot hold the current timestamp",
            ),
            WorkerDoesNotFit { worker, bits } => write!(
                f,
                "ERR idgen.worker-id {worker} does not fit the key's {bits} WORKER-BITS"
            ),
            ForeignId => f.write_str("ERR id was not produced by this generator's layout"),
            MinNotBelowMax => f.write_str("ERR MINVALUE must be less than MAXVALUE"),
            StartOutsideRange => f.write_str("ERR START must be between MINVALUE and MAXVALUE"),
            IncrementRange => {
                f.write_str("ERR INCREMENT must be between 1 and MAXVALUE - MINVALUE")
            }
            Exhausted(max) => write!(f, "ERR sequence exhausted: MAXVALUE {max} reached"),
            NotEnoughLeft { remain, requested } => write!(
                f,
                "ERR not enough values left: {remain} remain, {requested} requested"
            ),
            BatchLargerThanRange => {
                f.write_str("ERR count is larger than the sequence's whole range")
            }
            CountNotPositive => f.write_str("ERR count must be positive"),
            ValueOutsideRange => f.write_str("ERR value must be between MINVALUE and MAXVALUE"),
            WouldRepeat => {
                f.write_str("ERR value could repeat an issued value; use FORCE to allow it")
            }
            LayoutMismatch => {
                f.write_str("ERR reservation does not match the existing generator's options")
            }
            PoolFull { retry_ms } => write!(
                f,
                "POOLFULL no worker ID is free: the next one frees up in {retry_ms} ms"
            ),
            PoolResuming { retry_ms } => write!(
                f,
                "POOLRESUMING the pool was loaded or promoted and grants no worker ID for {retry_ms} ms (a grant it never received may still be in use); held leases can still be renewed"
            ),
            LeaseLost { id, why } => write!(
                f,
                "LEASELOST worker ID {id} is no longer yours ({why}): stop issuing IDs with it and acquire a new one"
            ),
            TokensExhausted => f.write_str(
                "ERR fencing tokens exhausted: the pool can grant no more leases (delete and recreate it)",
            ),
            PoolOptionDiffers(name) => write!(f, "ERR {name} differs from the pool's"),
            InternalCommand => f.write_str(
                "ERR internal command: accepted only from the primary's replication link and the AOF",
            ),
            Internal(msg) => write!(f, "ERR idgen internal error: {msg}"),
        }
    }
}

impl Error {
    /// Whether this error is a refusal to issue (counted in `INFO idgen` as a refusal).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::BorrowLimit(_)
                | Error::TimeBitsExhausted
                | Error::Exhausted(_)
                | Error::NotEnoughLeft { .. }
                | Error::BatchLargerThanRange
                | Error::WorkerDoesNotFit { .. }
                | Error::PoolFull { .. }
                | Error::PoolResuming { .. }
                | Error::LeaseLost { .. }
                | Error::TokensExhausted
        )
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_starts_with_an_uppercase_code() {
        let all = [
            Error::Arity,
            Error::WrongType,
            Error::NotInteger,
            Error::UnknownOption("X".into()),
            Error::MissingValue("EPOCH"),
            Error::DuplicateOption("EPOCH"),
            Error::NoSuchKey,
            Error::KeyExists,
            Error::OutOfRange("COUNT", 1, 2),
            Error::BitsSum(64),
            Error::EpochInFuture,
            Error::EpochNegative,
            Error::CountRange(10),
            Error::BorrowLimit(10),
            Error::TimeBitsExhausted,
            Error::WorkerDoesNotFit { worker: 9, bits: 2 },
            Error::ForeignId,
            Error::MinNotBelowMax,
            Error::StartOutsideRange,
            Error::IncrementRange,
            Error::Exhausted(5),
            Error::NotEnoughLeft {
                remain: 1,
                requested: 2,
            },
            Error::BatchLargerThanRange,
            Error::CountNotPositive,
            Error::ValueOutsideRange,
            Error::WouldRepeat,
            Error::LayoutMismatch,
            Error::PoolFull { retry_ms: 5 },
            Error::PoolResuming { retry_ms: 5 },
            Error::LeaseLost {
                id: 3,
                why: "lease expired",
            },
            Error::PoolOptionDiffers("SIZE"),
            Error::TokensExhausted,
            Error::InternalCommand,
            Error::Internal("x".into()),
        ];
        for e in all {
            let s = e.to_string();
            let code = s.split(' ').next().unwrap();
            assert!(code.len() >= 3, "{s}");
            assert!(code.chars().all(|c| c.is_ascii_uppercase()), "{s}");
            assert!(s.len() > code.len() + 1, "{s}");
        }
    }
}
