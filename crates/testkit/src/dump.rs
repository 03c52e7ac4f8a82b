//! DUMP payloads: the footer Redis appends (RDB version + CRC64), split off and forged, so that
//! tests can hand damaged bodies with a valid checksum to RESTORE (and so to the module's loader).

/// CRC-64/Jones as Redis's crc64.c (reflected, init 0, no final xor): the DUMP footer's checksum.
pub fn crc64(data: &[u8]) -> u64 {
    static TABLE: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0u64; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u64;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0x95ac_9329_ac4b_c9b5
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    data.iter().fold(0u64, |crc, &b| {
        t[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// A DUMP payload split into body (type + value) and the 2-byte RDB version of the footer.
pub fn split_dump(payload: &[u8]) -> (Vec<u8>, [u8; 2]) {
    let n = payload.len();
    assert!(n > 10, "DUMP payload too short");
    (
        payload[..n - 10].to_vec(),
        [payload[n - 10], payload[n - 9]],
    )
}

/// body + version + CRC64 of both, little-endian: what DUMP produces.
pub fn forge(body: &[u8], version: [u8; 2]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version);
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}
