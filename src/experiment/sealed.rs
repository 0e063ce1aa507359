//! State files sealed with the SHA-256 of their contents, and the SHA-256 of a rows file, so that
//! saved progress or a shard edited or cut short after it was written is refused rather than
//! merged or resumed into wrong results.
//!
//! A sealed file is JSON: `{"format": N, "sha256": "<hex>", "state": {...}}`, where the digest is
//! of the exact bytes of `state` as they stand in the file. The seal catches accidents (a copy cut
//! short, a hand edit, a disk error), not an adversary who recomputes it.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// Why a sealed file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Not JSON of the sealed shape, or its state is not of the expected type.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Written by another format of csmarket.
    #[error("format {found}, this csmarket reads format {expected}")]
    Format {
        /// The file's format.
        found: u32,
        /// The format this version reads.
        expected: u32,
    },
    /// The state's bytes are not the ones that were sealed.
    #[error("its contents do not match its SHA-256 seal: edited or damaged after it was written")]
    Checksum,
}

/// The SHA-256 of bytes, as lower-case hex.
pub fn hex_digest(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serialises `state` sealed with its digest under format `format`.
pub fn seal<T: Serialize>(format: u32, state: &T) -> Result<Vec<u8>, serde_json::Error> {
    seal_with_digest(format, state).map(|(bytes, _)| bytes)
}

/// [`seal`], and the digest it sealed the state with.
pub fn seal_with_digest<T: Serialize>(
    format: u32,
    state: &T,
) -> Result<(Vec<u8>, String), serde_json::Error> {
    let state = serde_json::to_vec(state)?;
    let sha256 = hex_digest(Sha256::new_with_prefix(&state));
    // Written out rather than through a `RawValue`, which would parse the state again only to
    // check JSON that serde_json has just written.
    let mut bytes = format!(r#"{{"format":{format},"sha256":"{sha256}","state":"#).into_bytes();
    bytes.reserve(state.len() + 2);
    bytes.extend_from_slice(&state);
    bytes.extend_from_slice(b"}\n");
    Ok((bytes, sha256))
}

/// Reads a sealed file's bytes: checks the format and the seal, then parses the state.
pub fn open<T: DeserializeOwned>(format: u32, bytes: &[u8]) -> Result<T, SealError> {
    open_with_digest(format, bytes).map(|(state, _)| state)
}

/// [`open`], and the digest the state was sealed with.
pub fn open_with_digest<T: DeserializeOwned>(
    format: u32,
    bytes: &[u8],
) -> Result<(T, String), SealError> {
    #[derive(serde::Deserialize)]
    struct Version {
        format: u32,
    }
    #[derive(serde::Deserialize)]
    struct Sealed<'a> {
        sha256: String,
        #[serde(borrow)]
        state: &'a RawValue,
    }
    let found = serde_json::from_slice::<Version>(bytes)?.format;
    if found != format {
        return Err(SealError::Format {
            found,
            expected: format,
        });
    }
    let sealed: Sealed<'_> = serde_json::from_slice(bytes)?;
    if hex_digest(Sha256::new_with_prefix(sealed.state.get().as_bytes())) != sealed.sha256 {
        return Err(SealError::Checksum);
    }
    Ok((serde_json::from_str(sealed.state.get())?, sealed.sha256))
}

/// A reader that hashes every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps a reader.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            read: 0,
        }
    }

    /// Bytes read so far, and their hasher.
    pub fn finish(self) -> (u64, Sha256) {
        (self.read, self.hasher)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// The length and hasher of the first `len` bytes of a file (fewer if it is shorter).
pub fn file_prefix_digest(path: &Path, len: u64) -> io::Result<(u64, Sha256)> {
    let file = File::open(path)?;
    let mut reader = HashingReader::new(BufReader::with_capacity(1 << 20, file).take(len));
    io::copy(&mut reader, &mut io::sink())?;
    Ok(reader.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct State {
        survived: u64,
        share: f64,
    }

    #[test]
    fn a_sealed_state_opens_to_itself() {
        let s = State {
            survived: 41,
            share: 0.1 + 0.2,
        };
        let bytes = seal(2, &s).unwrap();
        assert_eq!(open::<State>(2, &bytes).unwrap(), s);
    }

    /// The sealed file is the JSON object serde_json writes for its three fields, byte for byte
    /// (as csmarket wrote it through a `RawValue` before), so files saved by either open alike.
    #[test]
    fn a_sealed_file_is_serde_jsons_object_of_format_digest_and_state() {
        #[derive(Serialize)]
        struct Sealed<'a> {
            format: u32,
            sha256: String,
            state: &'a RawValue,
        }
        let s = State {
            survived: 7,
            share: 1.0 / 3.0,
        };
        let raw = RawValue::from_string(serde_json::to_string(&s).unwrap()).unwrap();
        let sha256 = hex_digest(Sha256::new_with_prefix(raw.get().as_bytes()));
        let mut want = serde_json::to_vec(&Sealed {
            format: 3,
            sha256,
            state: &raw,
        })
        .unwrap();
        want.push(b'\n');
        assert_eq!(
            String::from_utf8(seal(3, &s).unwrap()).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }

    #[test]
    fn an_edited_number_breaks_the_seal() {
        let bytes = seal(
            2,
            &State {
                survived: 41,
                share: 0.5,
            },
        )
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let edited = text.replace("\"survived\":41", "\"survived\":42");
        assert_ne!(edited, text);
        assert!(matches!(
            open::<State>(2, edited.as_bytes()),
            Err(SealError::Checksum)
        ));
    }

    #[test]
    fn another_format_is_named() {
        let bytes = seal(
            1,
            &State {
                survived: 1,
                share: 0.0,
            },
        )
        .unwrap();
        let e = open::<State>(2, &bytes).unwrap_err().to_string();
        assert_eq!(e, "format 1, this csmarket reads format 2");
        let cut = &bytes[..bytes.len() / 2];
        assert!(matches!(open::<State>(1, cut), Err(SealError::Json(_))));
    }

    #[test]
    fn a_prefix_digest_is_the_digest_of_the_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rows.csv");
        std::fs::write(&p, b"header\nrow1\nrow2\n").unwrap();
        let (n, h) = file_prefix_digest(&p, 12).unwrap();
        assert_eq!(n, 12);
        assert_eq!(
            hex_digest(h),
            hex_digest(Sha256::new_with_prefix(b"header\nrow1\n"))
        );
        let (n, _) = file_prefix_digest(&p, 100).unwrap();
        assert_eq!(n, 17, "a shorter file gives its own length");
    }
}
