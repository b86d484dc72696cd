//! The bytes on disk: framed files (an 8-byte magic, then frames of a
//! length, a CRC32 and a payload), shared by the segments and the offsets
//! file; the scan that loads them and cuts off a torn tail; the payload
//! fields; and a record's payload. The offsets file's payloads are in
//! `offsets`.

use crate::error::{Error, Result};
use crate::log::{Header, Record};
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// First bytes of a partition segment file.
pub(super) const SEGMENT_MAGIC: &[u8; 8] = b"SLUSEG\x00\x01";
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

/// Opens (or creates) a framed file, hands every valid frame's position and
/// payload to `on_frame` in order, cuts off a torn or corrupt tail, and
/// returns the file positioned at its end for appending.
pub(super) fn scan_file(
    path: &Path,
    magic: &[u8; 8],
    mut on_frame: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let len = file.metadata()?.len();
    if len < magic.len() as u64 {
        // New, or torn while being created.
        file.set_len(0)?;
        file.write_all(magic)?;
        return Ok(file);
    }
    let good = {
        let mut reader = BufReader::with_capacity(WRITE_BUFFER, &file);
        let mut head = [0u8; 8];
        reader.read_exact(&mut head)?;
        if &head != magic {
            return Err(Error::log(format!(
                "{}: not a Sluice log file",
                path.display()
            )));
        }
        let mut pos = magic.len() as u64;
        let mut payload = Vec::new();
        loop {
            if len - pos < FRAME_HEADER as u64 {
                break;
            }
            let mut header = [0u8; FRAME_HEADER];
            reader.read_exact(&mut header)?;
            let size = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            if u64::from(size) > len - pos - FRAME_HEADER as u64 {
                break;
            }
            payload.resize(size as usize, 0);
            reader.read_exact(&mut payload)?;
            if crc32fast::hash(&payload) != crc {
                break;
            }
            on_frame(pos, &payload)?;
            pos += FRAME_HEADER as u64 + u64::from(size);
        }
        pos
    };
    if good < len {
        file.set_len(good)?;
        file.sync_all()?;
    }
    file.seek(SeekFrom::Start(good))?;
    Ok(file)
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

/// The length of the frame whose header starts `bytes`, if it is all there.
pub(super) fn frame_len(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..4)?;
    Some(FRAME_HEADER + u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize)
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
