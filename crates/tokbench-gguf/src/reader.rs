//! Bounded, offset-tracking primitive reads over a [`BufRead`].
//!
//! Every read is checked against the known file size *before* anything is
//! read or allocated, so a corrupt length can neither allocate more than the
//! file could hold nor block on a short read: it becomes a
//! [`GgufError::Truncated`] or a cap error naming the offset. Buffers grow
//! with the bytes actually read, so even a length the file size allows
//! (a huge model, or a file cut while being read) allocates little up front
//! (`tests/alloc_bound.rs` measures it).

use std::io::{BufRead, ErrorKind, Read};
use std::path::Path;

use crate::error::{GgufError, Result};

/// Longest metadata key or tensor name accepted, in bytes (the GGUF spec
/// limits keys to 65535 bytes).
pub const MAX_KEY_LEN: u64 = 65_535;

/// Longest string value accepted, in bytes (64 MiB; chat templates, the
/// longest strings seen in practice, are tens of KiB).
pub const MAX_STRING_LEN: u64 = 64 << 20;

/// Bytes reserved up front for a string; longer ones grow as read.
const STRING_PREALLOC: u64 = 64 << 10;

/// Primitive reader: little- or big-endian numbers and GGUF strings.
pub(crate) struct Reader<'p, R> {
    inner: R,
    offset: u64,
    file_size: u64,
    big_endian: bool,
    path: &'p Path,
}

macro_rules! read_num {
    ($name:ident, $ty:ty) => {
        /// Reads one number in the file's byte order.
        pub(crate) fn $name(&mut self, what: &'static str) -> Result<$ty> {
            let mut buf = [0u8; std::mem::size_of::<$ty>()];
            self.read_exact(&mut buf, what)?;
            Ok(if self.big_endian {
                <$ty>::from_be_bytes(buf)
            } else {
                <$ty>::from_le_bytes(buf)
            })
        }
    };
}

impl<'p, R: BufRead> Reader<'p, R> {
    /// A reader at offset 0 of a file of `file_size` bytes.
    pub(crate) fn new(inner: R, file_size: u64, path: &'p Path) -> Self {
        Self {
            inner,
            offset: 0,
            file_size,
            big_endian: false,
            path,
        }
    }

    /// Current offset from the start of the file.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The file size the reader checks against.
    pub(crate) fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Bytes left after the current offset.
    pub(crate) fn remaining(&self) -> u64 {
        self.file_size.saturating_sub(self.offset)
    }

    /// The file being read (for error messages).
    pub(crate) fn path(&self) -> &'p Path {
        self.path
    }

    /// Switches byte order for all later numbers.
    pub(crate) fn set_big_endian(&mut self, big_endian: bool) {
        self.big_endian = big_endian;
    }

    /// A [`GgufError::Truncated`] for `needed` bytes at `offset`.
    pub(crate) fn truncated(&self, offset: u64, needed: u64, what: &str) -> GgufError {
        GgufError::Truncated {
            path: self.path.to_path_buf(),
            offset,
            needed,
            what: what.to_owned(),
            file_size: self.file_size,
        }
    }

    /// A [`GgufError::Invalid`] at `offset`.
    pub(crate) fn invalid(&self, offset: u64, reason: String) -> GgufError {
        GgufError::Invalid {
            path: self.path.to_path_buf(),
            offset,
            reason,
        }
    }

    /// Fails unless `len` more bytes exist from the current offset.
    fn ensure(&self, len: u64, what: &str) -> Result<()> {
        if len > self.remaining() {
            return Err(self.truncated(self.offset, len, what));
        }
        Ok(())
    }

    fn io_error(&self, source: std::io::Error) -> GgufError {
        GgufError::io(self.path, format!("read at offset {}", self.offset), source)
    }

    /// Fills `buf` completely or fails naming the offset.
    pub(crate) fn read_exact(&mut self, buf: &mut [u8], what: &'static str) -> Result<()> {
        let len = buf.len() as u64;
        self.ensure(len, what)?;
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.offset += len;
                Ok(())
            }
            // The file shrank under us, or the declared size was wrong.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                Err(self.truncated(self.offset, len, what))
            }
            Err(e) => Err(self.io_error(e)),
        }
    }

    /// Skips `len` bytes without copying them out of the buffer.
    pub(crate) fn skip(&mut self, len: u64, what: &'static str) -> Result<()> {
        self.ensure(len, what)?;
        let mut left = len;
        while left > 0 {
            let avail = match self.inner.fill_buf() {
                Ok(buf) => buf.len(),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            };
            if avail == 0 {
                return Err(self.truncated(self.offset, left, what));
            }
            let step = usize::try_from(left).map_or(avail, |l| l.min(avail));
            self.inner.consume(step);
            self.offset += step as u64;
            left -= step as u64;
        }
        Ok(())
    }

    read_num!(u8, u8);
    read_num!(i8, i8);
    read_num!(u16, u16);
    read_num!(i16, i16);
    read_num!(u32, u32);
    read_num!(i32, i32);
    read_num!(u64, u64);
    read_num!(i64, i64);
    read_num!(f32, f32);
    read_num!(f64, f64);

    /// Reads a string's u64 length prefix and checks it against `limit`
    /// and the rest of the file. Returns the length.
    fn string_len(&mut self, limit: u64, what: &'static str) -> Result<u64> {
        let at = self.offset;
        let len = self.u64(what)?;
        if len > limit {
            return Err(GgufError::StringTooLong {
                path: self.path.to_path_buf(),
                offset: at,
                len,
                limit,
            });
        }
        self.ensure(len, what)?;
        Ok(len)
    }

    /// Reads a GGUF string (u64 length, then UTF-8 bytes; invalid UTF-8 is
    /// replaced with U+FFFD) of at most `limit` bytes. The buffer grows as
    /// bytes arrive, so a length the file does not back allocates little.
    pub(crate) fn string(&mut self, limit: u64, what: &'static str) -> Result<String> {
        let len = self.string_len(limit, what)?;
        let mut buf = Vec::with_capacity(usize::try_from(len.min(STRING_PREALLOC)).unwrap_or(0));
        let got = match (&mut self.inner).take(len).read_to_end(&mut buf) {
            Ok(n) => n as u64,
            Err(e) => return Err(self.io_error(e)),
        };
        if got < len {
            // The file shrank under us, or the declared size was wrong.
            return Err(self.truncated(self.offset, len, what));
        }
        self.offset += len;
        Ok(match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Skips a GGUF string of at most `limit` bytes.
    pub(crate) fn skip_string(&mut self, limit: u64, what: &'static str) -> Result<()> {
        let len = self.string_len(limit, what)?;
        self.skip(len, what)
    }

    /// Reads a count of items of at least `min_item_size` bytes each.
    /// Over `cap` it is [`GgufError::ImplausibleCount`]; if the items
    /// cannot fit in the rest of the file it is [`GgufError::Truncated`]
    /// (a cut file and a corrupt count look alike; nothing is allocated
    /// either way).
    pub(crate) fn count(
        &mut self,
        min_item_size: u64,
        cap: u64,
        what: &'static str,
    ) -> Result<u64> {
        let at = self.offset;
        let count = self.u64(what)?;
        if count > cap {
            return Err(GgufError::ImplausibleCount {
                path: self.path.to_path_buf(),
                offset: at,
                what,
                count,
                limit: cap,
            });
        }
        // count <= cap <= 2^32 and min_item_size <= 12: no overflow.
        let needed = count * min_item_size;
        if needed > self.remaining() {
            let items = format!("the {count} entries announced by the {what} at offset {at}");
            return Err(self.truncated(self.offset, needed, &items));
        }
        Ok(count)
    }
}
