//! The bytes on disk: framed files (an 8-byte magic, then frames of a
//! length, a CRC32 and a payload), shared by the segments and the offsets
//! files; a window of positioned reads that finds the frame at a position
//! and, after damage, the next valid frame (`resync`); the payload fields;
//! and a record's payload. The offsets file's payloads are in
//! `offsets`.

use crate::error::{Error, Result};
use crate::log::{Header, Record};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// First bytes of a partition segment file.
pub(super) const SEGMENT_MAGIC: &[u8; 8] = b"SLUSEG\x00\x01";
/// The magic of a segment rewritten by compaction: its offsets ascend but
/// may skip (the records compacted away).
pub(super) const COMPACTED_MAGIC: &[u8; 8] = b"SLUSEG\x00\x02";
/// Length and CRC in front of every frame payload.
pub(super) const FRAME_HEADER: usize = 8;
/// Size of the write buffer of every segment and of the offsets file.
pub(super) const WRITE_BUFFER: usize = 64 * 1024;

/// Makes a directory's entries (new, renamed, removed files) durable.
pub(super) fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(path)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates a file holding only `magic`, positioned at its end.
pub(super) fn new_file(path: &Path, magic: &[u8; 8]) -> Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.write_all(magic)?;
    Ok(file)
}

/// Bytes read at a time by a [`Window`].
const WINDOW: usize = 64 * 1024;

/// Bytes of a payload that a [`Window::frame`] caller's check sees.
pub(super) const ACCEPT_PREFIX: usize = 16;

/// What a [`Window`] finds at a position of a framed file.
pub(super) enum Frame<'a> {
    /// A whole frame (header and payload) whose CRC checks out.
    Valid(&'a [u8]),
    /// A frame cut short by the end of the file, one whose length runs
    /// past it, one refused by the caller, or one failing its CRC.
    Bad,
    /// The end of the file: no bytes left.
    End,
}

/// The payload of a whole frame.
pub(super) fn payload(frame: &[u8]) -> &[u8] {
    &frame[FRAME_HEADER..]
}

/// Positioned reads of the first `len` bytes of a framed file through a
/// buffer of them (a chunk at a time), so scans do not read the file one
/// frame at a time.
pub(super) struct Window<'a> {
    file: &'a File,
    len: u64,
    /// File position of `buf[0]`.
    start: u64,
    buf: Vec<u8>,
}

impl<'a> Window<'a> {
    /// A window over the first `len` bytes of `file`.
    pub(super) fn new(file: &'a File, len: u64) -> Window<'a> {
        Window {
            file,
            len,
            start: 0,
            buf: Vec::new(),
        }
    }

    /// The `n` bytes at `pos`, None when they run past the end.
    pub(super) fn bytes(&mut self, pos: u64, n: usize) -> Result<Option<&[u8]>> {
        let Some(end) = pos.checked_add(n as u64).filter(|&end| end <= self.len) else {
            return Ok(None);
        };
        if pos < self.start || end > self.start + self.buf.len() as u64 {
            let size = usize::try_from(self.len - pos)
                .unwrap_or(usize::MAX)
                .min(n.max(WINDOW));
            self.buf.resize(size, 0);
            self.file.read_exact_at(&mut self.buf, pos)?;
            self.start = pos;
        }
        let at = (pos - self.start) as usize;
        Ok(Some(&self.buf[at..at + n]))
    }

    /// The frame at `pos`; `accept` looks at the first bytes of its payload
    /// (up to 16) before the rest is read and its CRC checked, and may
    /// refuse it (a cheap check that it is the frame due).
    pub(super) fn frame(&mut self, pos: u64, accept: impl Fn(&[u8]) -> bool) -> Result<Frame<'_>> {
        if pos >= self.len {
            return Ok(Frame::End);
        }
        let Some(header) = self.bytes(pos, FRAME_HEADER)? else {
            return Ok(Frame::Bad);
        };
        let size = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let total = FRAME_HEADER + size;
        if pos + total as u64 > self.len {
            return Ok(Frame::Bad);
        }
        // The caller's check first, on the payload's first bytes: a resync
        // then reads little at the positions it tries.
        let Some(prefix) = self.bytes(pos, FRAME_HEADER + size.min(ACCEPT_PREFIX))? else {
            return Ok(Frame::Bad);
        };
        if !accept(&prefix[FRAME_HEADER..]) {
            return Ok(Frame::Bad);
        }
        let Some(frame) = self.bytes(pos, total)? else {
            return Ok(Frame::Bad);
        };
        if crc32fast::hash(&frame[FRAME_HEADER..]) != crc {
            return Ok(Frame::Bad);
        }
        Ok(Frame::Valid(frame))
    }

    /// The first position at or after `from` where a valid frame that
    /// `accept` takes starts: where reading resumes after damage.
    pub(super) fn resync(
        &mut self,
        from: u64,
        accept: impl Fn(&[u8]) -> bool,
    ) -> Result<Option<u64>> {
        let mut pos = from;
        while pos + FRAME_HEADER as u64 <= self.len {
            if let Frame::Valid(..) = self.frame(pos, &accept)? {
                return Ok(Some(pos));
            }
            pos += 1;
        }
        Ok(None)
    }
}

/// Opens (or creates) a framed file for reading and writing; a file too
/// short to hold `magic` (new, or torn while being created) is reset to
/// just `magic`. Returns the file and whether its magic is right.
pub(super) fn open_framed(path: &Path, magic: &[u8; 8]) -> Result<(File, bool)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    if file.metadata()?.len() < magic.len() as u64 {
        file.set_len(0)?;
        file.write_all_at(magic, 0)?;
        return Ok((file, true));
    }
    let mut head = [0u8; 8];
    file.read_exact_at(&mut head, 0)?;
    Ok((file, &head == magic))
}

/// The frame at the start of `bytes`: its payload and its whole length,
/// None when `bytes` does not hold all of it. A frame that is all there but
/// fails its CRC is an error naming `what`.
pub(super) fn frame_at<'a>(
    bytes: &'a [u8],
    what: &dyn Fn() -> String,
) -> Result<Option<(&'a [u8], usize)>> {
    let Some(header) = bytes.get(..FRAME_HEADER) else {
        return Ok(None);
    };
    let size = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let Some(payload) = bytes.get(FRAME_HEADER..FRAME_HEADER + size) else {
        return Ok(None);
    };
    if crc32fast::hash(payload) != crc {
        return Err(Error::log(format!("{}: a frame fails its CRC", what())));
    }
    Ok(Some((payload, FRAME_HEADER + size)))
}

/// Fills `buf` with one frame: header, then the payload `fill` writes.
pub(super) fn encode_frame(
    buf: &mut Vec<u8>,
    fill: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    buf.clear();
    push_frame(buf, fill)
}

/// Adds one frame to the end of `buf`: header, then the payload `fill`
/// writes. On an error `buf` is left as it was.
pub(super) fn push_frame(
    buf: &mut Vec<u8>,
    fill: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    let start = buf.len();
    buf.extend_from_slice(&[0; FRAME_HEADER]);
    let body = start + FRAME_HEADER;
    let filled = fill(buf).and_then(|()| {
        u32::try_from(buf.len() - body).map_err(|_| {
            Error::log(format!(
                "a record of {} bytes is too large",
                buf.len() - body
            ))
        })
    });
    let size = match filled {
        Ok(size) => size,
        Err(e) => {
            buf.truncate(start);
            return Err(e);
        }
    };
    let crc = crc32fast::hash(&buf[body..]);
    buf[start..start + 4].copy_from_slice(&size.to_le_bytes());
    buf[start + 4..body].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

pub(super) fn encode_record(buf: &mut Vec<u8>, offset: i64, record: &Record) -> Result<()> {
    buf.extend_from_slice(&offset.to_le_bytes());
    buf.extend_from_slice(&record.timestamp.to_le_bytes());
    put_opt_bytes(buf, record.key.as_deref())?;
    put_opt_bytes(buf, record.value.as_deref())?;
    put_len(buf, record.headers.len())?;
    for header in &record.headers {
        put_str(buf, &header.key)?;
        put_opt_bytes(buf, header.value.as_deref())?;
    }
    Ok(())
}

fn put_len(buf: &mut Vec<u8>, len: usize) -> Result<()> {
    let len = u32::try_from(len).map_err(|_| Error::log("a record field is too large"))?;
    buf.extend_from_slice(&len.to_le_bytes());
    Ok(())
}

pub(super) fn put_str(buf: &mut Vec<u8>, s: &str) -> Result<()> {
    put_len(buf, s.len())?;
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_opt_bytes(buf: &mut Vec<u8>, bytes: Option<&[u8]>) -> Result<()> {
    match bytes {
        None => buf.extend_from_slice(&(-1i32).to_le_bytes()),
        Some(bytes) => {
            let len = i32::try_from(bytes.len())
                .map_err(|_| Error::log("a record field is too large"))?;
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(bytes);
        }
    }
    Ok(())
}

/// Reads a payload front to back; every getter is None past the end.
pub(super) struct Cursor<'a> {
    pub(super) rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(super) fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    pub(super) fn i32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }

    pub(super) fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.array()?))
    }

    pub(super) fn string(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    fn opt_bytes(&mut self) -> Option<Option<Vec<u8>>> {
        match self.i32()? {
            -1 => Some(None),
            len => Some(Some(self.take(usize::try_from(len).ok()?)?.to_vec())),
        }
    }

    pub(super) fn done(&self) -> bool {
        self.rest.is_empty()
    }
}

/// The offset at the front of a record payload.
pub(super) fn record_offset(payload: &[u8]) -> Option<i64> {
    Some(i64::from_le_bytes(payload.get(..8)?.try_into().ok()?))
}

pub(super) fn decode_record(payload: &[u8]) -> Option<(i64, Record)> {
    let mut c = Cursor { rest: payload };
    let offset = c.i64()?;
    let timestamp = c.i64()?;
    let key = c.opt_bytes()?;
    let value = c.opt_bytes()?;
    let count = c.u32()? as usize;
    // Each header takes at least 8 bytes: no huge allocation from a bad count.
    let mut headers = Vec::with_capacity(count.min(c.rest.len() / 8));
    for _ in 0..count {
        headers.push(Header {
            key: c.string()?,
            value: c.opt_bytes()?,
        });
    }
    c.done().then_some((
        offset,
        Record {
            key,
            value,
            timestamp,
            headers,
        },
    ))
}
