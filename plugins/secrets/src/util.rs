//! Small, dependency-free helpers: entropy, base64, CRC32, base62, character counting.

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let len = data.len() as f64;
    let mut h = 0.0;
    for &c in counts.iter() {
        if c > 0 {
            let p = c as f64 / len;
            h -= p * p.log2();
        }
    }
    h
}

static CRC_TABLE: once_cell::sync::Lazy<[u32; 256]> = once_cell::sync::Lazy::new(|| {
    let mut t = [0u32; 256];
    for (i, slot) in t.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
        *slot = c;
    }
    t
});

/// CRC-32 (IEEE 802.3, the zlib one).
pub fn crc32(data: &[u8]) -> u32 {
    let t = &*CRC_TABLE;
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c = t[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

pub const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encode `v` in base62 (0-9A-Za-z), left-padded with '0' to `width`.
pub fn base62_encode(mut v: u64, width: usize) -> String {
    let mut out = Vec::new();
    while v > 0 {
        out.push(BASE62[(v % 62) as usize]);
        v /= 62;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

pub fn base62_decode(s: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &c in s {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            b'a'..=b'z' => c - b'a' + 36,
            _ => return None,
        } as u64;
        v = v.checked_mul(62)?.checked_add(d)?;
    }
    Some(v)
}

/// Checks the GitHub/npm style token checksum: the last 6 characters are the base62 CRC32 of
/// the random part (the token without its prefix and without the checksum).
/// Implementations disagree on the digit order (0-9A-Za-z vs 0-9a-zA-Z), so both are accepted;
/// a random string passes either by chance with probability 2^-31.
pub fn base62_crc32_ok(random: &[u8], checksum: &[u8]) -> bool {
    let want = crc32(random) as u64;
    let inverted: Vec<u8> = checksum
        .iter()
        .map(|&c| if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else if c.is_ascii_uppercase() { c.to_ascii_lowercase() } else { c })
        .collect();
    base62_decode(checksum) == Some(want) || base62_decode(&inverted) == Some(want)
}

fn b64_val(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    })
}

/// Decodes standard or URL-safe base64, padded or not. Returns None on any invalid character.
pub fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut data = input;
    while let Some((&b'=', rest)) = data.split_last() {
        data = rest;
    }
    if data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4 + 2);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in data {
        let v = b64_val(c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
        }
    }
    Some(out)
}

pub fn base64_encode(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity((data.len() + 2) / 3 * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    out
}

/// Number of Unicode characters in `s` (invalid UTF-8 bytes count as one character each).
pub fn char_count(s: &[u8]) -> usize {
    s.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

pub fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub fn lower(s: &[u8]) -> Vec<u8> {
    s.to_ascii_lowercase()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.len() > hay.len() {
        return false;
    }
    memchr::memmem::find(hay, needle).is_some()
}

/// Case-insensitive (ASCII) substring search.
pub fn contains_ci(hay: &[u8], needle_lower: &[u8]) -> bool {
    if needle_lower.len() > hay.len() {
        return false;
    }
    contains(&lower(hay), needle_lower)
}

/// Small deterministic PRNG (xorshift64*), used by example generation and tests.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn crc_and_base62() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(base62_decode(base62_encode(0xCBF4_3926, 6).as_bytes()), Some(0xCBF4_3926));
        assert_eq!(base62_encode(61, 6), "00000z");
    }
    #[test]
    fn b64() {
        assert_eq!(base64_decode(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode(b"aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert!(base64_decode(b"a$b").is_none());
    }
    #[test]
    fn entropy() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
