//! OPAQUE's secret for the generator types that take one (`SEQ.CREATE`, `SNOWFLAKE.CREATE`):
//! given as `SECRET hex` or drawn from the operating system's secure random source.

use crate::core::opaque::{parse_secret, Secret, SECRET_LEN};
use crate::error::{Error, Result};

/// The CREATE options OPAQUE and SECRET: the secret, given or drawn from the OS, or `None`.
pub fn opaque_secret(opaque: bool, secret: Option<&[u8]>) -> Result<Option<Secret>> {
    match (opaque, secret) {
        (false, None) => Ok(None),
        (false, Some(_)) => Err(Error::SecretNeedsOpaque),
        (true, Some(hex)) => parse_secret(hex).map(Some),
        (true, None) => {
            let mut s = [0u8; SECRET_LEN];
            getrandom::getrandom(&mut s)
                .map_err(|_| Error::Internal("no OS random source for the OPAQUE secret".into()))?;
            Ok(Some(s))
        }
    }
}
