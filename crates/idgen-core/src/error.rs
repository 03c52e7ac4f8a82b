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
    /// An eviction record (`IDGEN.EVICTED`) that no generator type can revive.
    BadEvictionRecord,
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
    /// FORMAT option word not one of INT, STRING, BASE32, BASE62.
    UnknownFormat,
    /// UUID FORMAT option word not one of UUID, ULID, HEX, BINARY.
    UnknownUidFormat,
    /// UUID.PARSE text that is not a version-7 RFC-variant UUID in one of the formats.
    NotUuid7,
    /// LAYOUT option word not one of DEFAULT, JS-SAFE.
    UnknownLayout,
    /// PREFIX breaks the rules of `format::Prefix::parse`.
    BadPrefix,
    /// PREFIX given with FORMAT INT (an integer reply has nowhere to put it).
    PrefixNeedsText,
    /// An id text to decode: nothing left (after the prefix).
    IdTextEmpty,
    /// An id text of a fixed-width FORMAT that is not that wide (after the prefix).
    IdTextWidth {
        format: &'static str,
        width: usize,
    },
    /// An id text with a character its FORMAT does not use, at a 1-based position.
    IdTextChar {
        format: &'static str,
        pos: usize,
    },
    /// An id text whose value is above 2^63 - 1.
    IdTextOverflow,
    /// TIME-BITS + WORKER-BITS + SEQUENCE-BITS above 63 (layouts may now sum to less).
    BitsSumOver63(u32),
    /// 2^TIME-BITS ticks of TIME-UNIT ms do not fit a signed 64-bit ms count.
    TimeSpanTooLong {
        time_bits: u8,
        unit_ms: i64,
    },
    /// PERIOD option word not one of HOUR, DAY, MONTH, YEAR.
    UnknownPeriod,
    /// UTC-OFFSET not `+hh:mm`/`-hh:mm` within -14:00..=+14:00.
    BadUtcOffset,
    /// TEMPLATE text that does not parse (what is wrong).
    TemplateSyntax(&'static str),
    /// TEMPLATE `{name}` that is not a placeholder (the name, clipped).
    UnknownPlaceholder(String),
    /// TEMPLATE without, or with more than one, `{seq}`/`{seq:N}`.
    TemplateSeqCount,
    /// TEMPLATE `{seq:N}` narrower than MAXVALUE's digits.
    TemplateSeqWidth {
        width: u8,
        max: i64,
    },
    /// TEMPLATE date placeholders on a sequence without PERIOD.
    TemplateNeedsPeriod,
    /// TEMPLATE that does not name the whole PERIOD, so values would repeat across periods.
    TemplateMissesPeriod {
        period: &'static str,
        needs: &'static str,
    },
    /// TEMPLATE placeholder finer than the PERIOD (it would always render the period's start).
    TemplateTooFine {
        placeholder: &'static str,
        period: &'static str,
    },
    /// TEMPLATE with two unpadded numbers not separated by a non-digit.
    TemplateAmbiguous,
    /// TEMPLATE on a sequence whose values can be negative.
    TemplateNegative,
    /// TEMPLATE whose longest text is above the limit: (longest, limit).
    TemplateTooLong(usize, usize),
    /// The clock is outside the years a TEMPLATE renders (1970..=9999 local).
    OutsideCalendar,
    /// LAYOUT given with an option it already sets (the option's name).
    LayoutConflict(&'static str),
    /// PERIOD without a FORMAT template: integer values would repeat across periods.
    PeriodNeedsFormat,
    /// UTC-OFFSET without PERIOD.
    OffsetNeedsPeriod,
    /// A PERIOD sequence used up MAXVALUE in the current period; `next` is when the next starts.
    PeriodExhausted {
        max: i64,
        next: String,
    },
    /// The reservation fence: a call needed a new block, and fewer than
    /// `idgen.reserve-min-replicas` replicas acknowledged the stream within the lag.
    NoReplicas {
        have: u32,
        need: i64,
        max_lag_ms: i64,
    },
    /// A command that writes (issues, reserves, creates) sent by a client to a replica: a replica
    /// never issues, whatever `replica-read-only` says.
    ReadOnlyReplica,
    /// A command that needs durable reservations while the server has no AOF (and
    /// `idgen.allow-unsafe-persistence` is off): a restart would lose what was issued since the
    /// last snapshot and issue it again.
    UnsafePersistence,
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
            BadEvictionRecord => {
                f.write_str("ERR not an eviction record of a generator type this module knows")
            }
            NoReplicas {
                have,
                need,
                max_lag_ms,
            } => write!(
                f,
                "NOREPLICAS not enough good replicas to reserve new IDs: {have} of {need} (idgen.reserve-min-replicas) acknowledged within idgen.reserve-max-lag-ms ({max_lag_ms} ms); IDs already reserved are still served, retry later"
            ),
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
            UnknownFormat => f.write_str("ERR FORMAT must be INT, STRING, BASE32 or BASE62"),
            UnknownUidFormat => f.write_str("ERR FORMAT must be UUID, ULID, HEX or BINARY"),
            NotUuid7 => f.write_str(
                "BADUUID not a version-7 UUID: give 36 (UUID), 32 (HEX), 26 (ULID) characters or 16 bytes (BINARY) of a version-7, RFC-variant ID",
            ),
            UnknownLayout => f.write_str("ERR LAYOUT must be DEFAULT or JS-SAFE"),
            BadPrefix => f.write_str(
                "ERR PREFIX must be 1 to 16 characters: a letter, then letters, digits, '_' or '-'",
            ),
            PrefixNeedsText => f.write_str("ERR PREFIX needs FORMAT STRING, BASE32 or BASE62"),
            IdTextEmpty => f.write_str("ERR id text is empty"),
            IdTextWidth { format, width } => write!(
                f,
                "ERR {format} id text must be {width} characters long (after the prefix)"
            ),
            IdTextChar { format, pos } => write!(
                f,
                "ERR id text has a character that is not {format} at position {pos}"
            ),
            IdTextOverflow => {
                f.write_str("ERR id text is above the largest id 9223372036854775807")
            }
            BitsSumOver63(sum) => write!(
                f,
                "ERR TIME-BITS + WORKER-BITS + SEQUENCE-BITS must be at most 63, got {sum}"
            ),
            TimeSpanTooLong { time_bits, unit_ms } => write!(
                f,
                "ERR TIME-BITS {time_bits} at TIME-UNIT {unit_ms} ms spans past the largest 64-bit timestamp; lower one of them"
            ),
            UnknownPeriod => f.write_str("ERR PERIOD must be HOUR, DAY, MONTH or YEAR"),
            BadUtcOffset => f.write_str(
                "ERR UTC-OFFSET must be +hh:mm or -hh:mm, from -14:00 to +14:00",
            ),
            TemplateSyntax(what) => write!(f, "ERR FORMAT {what}"),
            UnknownPlaceholder(name) => write!(
                f,
                "ERR FORMAT has an unknown placeholder '{{{name}}}' (known: {{YYYY}} {{YY}} {{MM}} {{DD}} {{hh}} {{seq}} {{seq:N}} {{worker}})"
            ),
            TemplateSeqCount => f.write_str("ERR FORMAT needs exactly one {seq} or {seq:N}"),
            TemplateSeqWidth { width, max } => write!(
                f,
                "ERR FORMAT {{seq:{width}}} is narrower than MAXVALUE {max}; widen it or lower MAXVALUE"
            ),
            TemplateNeedsPeriod => {
                f.write_str("ERR FORMAT date placeholders need a PERIOD")
            }
            TemplateMissesPeriod { period, needs } => write!(
                f,
                "ERR FORMAT would repeat values across periods: PERIOD {period} needs {needs}"
            ),
            TemplateTooFine {
                placeholder,
                period,
            } => write!(
                f,
                "ERR FORMAT {placeholder} is finer than PERIOD {period} (it would never change within a period)"
            ),
            TemplateAmbiguous => f.write_str(
                "ERR FORMAT needs a non-digit character between {seq} and {worker} (or two {worker}s), else texts could repeat",
            ),
            TemplateNegative => f.write_str("ERR FORMAT needs MINVALUE 0 or more"),
            TemplateTooLong(len, limit) => write!(
                f,
                "ERR FORMAT texts can be {len} bytes long, the limit is {limit}"
            ),
            OutsideCalendar => f.write_str(
                "ERR clock: the time is outside the years 1970 to 9999 a TEMPLATE can render",
            ),
            LayoutConflict(o) => write!(f, "ERR LAYOUT sets {o}: give one or the other"),
            PeriodNeedsFormat => f.write_str(
                "ERR PERIOD needs a FORMAT template that names the period, else values repeat across periods",
            ),
            OffsetNeedsPeriod => f.write_str("ERR UTC-OFFSET needs a PERIOD"),
            PeriodExhausted { max, next } => write!(
                f,
                "ERR sequence exhausted: MAXVALUE {max} reached in this period; the next period starts at {next}"
            ),
            ReadOnlyReplica => f.write_str(
                "READONLY You can't write against a read only replica: idgen issues only on a primary",
            ),
            UnsafePersistence => f.write_str(
                "MISCONF idgen refuses to issue without AOF: a restart would repeat what was issued since the last snapshot; CONFIG SET appendonly yes (or CONFIG SET idgen.allow-unsafe-persistence yes to accept that risk)",
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
                | Error::OutsideCalendar
                | Error::PeriodExhausted { .. }
                | Error::NoReplicas { .. }
                | Error::ReadOnlyReplica
                | Error::UnsafePersistence
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
            Error::BadEvictionRecord,
            Error::PoolFull { retry_ms: 5 },
            Error::PoolResuming { retry_ms: 5 },
            Error::LeaseLost {
                id: 3,
                why: "lease expired",
            },
            Error::PoolOptionDiffers("SIZE"),
            Error::TokensExhausted,
            Error::InternalCommand,
            Error::ReadOnlyReplica,
            Error::UnsafePersistence,
            Error::UnknownFormat,
            Error::UnknownLayout,
            Error::UnknownUidFormat,
            Error::NotUuid7,
            Error::BadPrefix,
            Error::PrefixNeedsText,
            Error::IdTextEmpty,
            Error::IdTextWidth {
                format: "BASE62",
                width: 11,
            },
            Error::IdTextChar {
                format: "BASE32",
                pos: 3,
            },
            Error::IdTextOverflow,
            Error::BitsSumOver63(64),
            Error::TimeSpanTooLong {
                time_bits: 55,
                unit_ms: 1000,
            },
            Error::UnknownPeriod,
            Error::BadUtcOffset,
            Error::TemplateSyntax("has an unbalanced '{'"),
            Error::UnknownPlaceholder("mm".into()),
            Error::TemplateSeqCount,
            Error::TemplateSeqWidth {
                width: 3,
                max: 1000,
            },
            Error::TemplateNeedsPeriod,
            Error::TemplateMissesPeriod {
                period: "DAY",
                needs: "a year, {MM} and {DD}",
            },
            Error::TemplateTooFine {
                placeholder: "{hh}",
                period: "DAY",
            },
            Error::TemplateAmbiguous,
            Error::TemplateNegative,
            Error::TemplateTooLong(130, 128),
            Error::OutsideCalendar,
            Error::LayoutConflict("TIME-BITS"),
            Error::PeriodNeedsFormat,
            Error::OffsetNeedsPeriod,
            Error::PeriodExhausted {
                max: 9,
                next: "2026-12-01T00:00:00+08:00".into(),
            },
            Error::NoReplicas {
                have: 0,
                need: 1,
                max_lag_ms: 2000,
            },
            Error::Internal("x".into()),
        ];
        for e in all {
            let s = e.to_string();
            let code = s.split(' ').next().unwrap();
            assert!(code.len() >= 3, "{s}");
            assert!(code.chars().all(|c| c.is_ascii_uppercase()), "{s}");
            assert!(s.len() > code.len() + 1, "{s}");
            // A Redis error reply is one line.
            assert!(!s.contains(['\r', '\n']), "{s}");
        }
    }
}
