//! What the fuzzers check of the module's replies, shared by the command fuzzer
//! (`fuzz_commands`) and the DUMP/RESTORE fuzzer (`fuzz_restore`).

use idgen_testkit::Value;

/// A valid error reply: starts with an upper-case code, and is not the panic barrier's.
pub(crate) fn check_error(e: &str) -> Result<(), String> {
    let code = e.split_whitespace().next().unwrap_or("");
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("error without a code: {e:?}"));
    }
    if e.contains("internal error") {
        return Err(format!("panic caught in the module: {e:?}"));
    }
    Ok(())
}

/// An INFO reply as `field=value ...`.
pub(crate) fn show_map(v: &Value) -> String {
    match v {
        Value::Array(_) | Value::Map(_) => v
            .pairs()
            .iter()
            .map(|(k, v)| match v {
                Value::Int(i) => format!("{k}={i}"),
                Value::Null => format!("{k}=nil"),
                other => format!("{k}={other:?}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => format!("{other:?}"),
    }
}

/// What SNOWFLAKE.INFO of any generator must satisfy: its unix times are representable
/// (`time_bits_exhausted_at` is exactly epoch + 2^TIME-BITS x TIME-UNIT - 1, not saturated), and
/// the last
/// issued timestamp is below the reservation. `Err` says which does not hold.
pub(crate) fn snowflake_invariants(info: &Value) -> Result<(), String> {
    let epoch = info.field_int("epoch") as i128;
    let bits = info.field_int("time_bits");
    let exhausted = info.field_int("time_bits_exhausted_at") as i128;
    let unit = info.field_int("time_unit") as i128;
    let true_exhausted = epoch + (1i128 << bits.clamp(0, 64)) * unit - 1;
    if exhausted != true_exhausted {
        return Err(format!(
            "EPOCH {epoch} + 2^{bits} x {unit} overflows the unix-ms range: time_bits_exhausted_at is \
             {exhausted}, not {true_exhausted} (INFO {})",
            show_map(info)
        ));
    }
    let (last, mark) = (
        info.field_int("last_timestamp"),
        info.field_int("reserved_until"),
    );
    if last != -1 && last >= mark {
        return Err(format!(
            "last_timestamp not below reserved_until: {}",
            show_map(info)
        ));
    }
    Ok(())
}
