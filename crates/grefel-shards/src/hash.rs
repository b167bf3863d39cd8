//! SHA-256 helpers: hex digests of bytes and of files, and an incremental hasher for
//! fingerprints built from many parts.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::ShardError;

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A writer that passes bytes through to `inner` and hashes them on the way, so a file's SHA-256
/// is known when it is written, without reading it back.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: std::io::Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self { inner, hasher: Sha256::new() }
    }

    /// Hex SHA-256 of every byte written so far.
    pub fn hex_digest(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Hex SHA-256 of a file's content, streamed.
pub fn sha256_file(path: &Path) -> Result<String, ShardError> {
    let mut file = std::fs::File::open(path).map_err(ShardError::io("open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(ShardError::io("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// An incremental SHA-256 over length-prefixed parts, so `["ab", "c"]` and `["a", "bc"]` differ.
#[derive(Clone, Default)]
pub struct Fingerprint {
    hasher: Sha256,
}

impl Fingerprint {
    /// An empty fingerprint.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one part.
    pub fn part(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        let bytes = bytes.as_ref();
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
        self
    }

    /// The hex digest.
    pub fn finish(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let mut w = HashingWriter::new(Vec::new());
        std::io::Write::write_all(&mut w, b"a").expect("write");
        std::io::Write::write_all(&mut w, b"bc").expect("write");
        assert_eq!(w.hex_digest(), sha256_hex(b"abc"), "hashed in pieces as in one");
        let a = Fingerprint::new().part("ab").part("c").finish();
        let b = Fingerprint::new().part("a").part("bc").finish();
        assert_ne!(a, b);
        assert_eq!(a, Fingerprint::new().part("ab").part("c").finish());
    }
}
