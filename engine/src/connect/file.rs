//! The FileStream connectors (`org.apache.kafka.connect.file.*`): the
//! source follows a file as it grows, one record per complete line, its
//! offset the byte position after the line; the sink appends each
//! record's value to a file as a line.

use super::config::ConnectorConfig;
use super::converter::{ConnectType, ConnectValue, Converter};
use super::task::{Context, SinkTask, SourceRecord, SourceTask};
use crate::error::{Error, Result};
use crate::log::StoredRecord;
use serde_json::{json, Value as Json};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Follows a file.
pub struct FileSourceTask {
    path: PathBuf,
    topic: String,
    converter: Converter,
    batch: usize,
    /// Bytes of the file consumed: every line before it was emitted.
    position: u64,
}

impl FileSourceTask {
    pub fn new(config: &ConnectorConfig, ctx: &Context) -> Result<FileSourceTask> {
        let path = PathBuf::from(config.required("file")?);
        let topic = config.required("topic")?.to_string();
        let task = FileSourceTask {
            path,
            converter: super::converter::value_converter(config, ctx, &topic)?,
            topic,
            batch: usize::try_from(config.int("batch.size", 2000)?)
                .unwrap_or(2000)
                .max(1),
            position: 0,
        };
        // Fail now (the connector shows FAILED) when the file cannot be read.
        task.open()?;
        Ok(task)
    }

    fn open(&self) -> Result<std::fs::File> {
        let fail = |e: std::io::Error| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("Couldn't read file {}: {e}", self.path.display()),
            ))
        };
        let file = std::fs::File::open(&self.path).map_err(fail)?;
        if file.metadata().map_err(fail)?.is_dir() {
            return Err(Error::Io(std::io::Error::other(format!(
                "Couldn't read file {}: it is a directory",
                self.path.display()
            ))));
        }
        Ok(file)
    }
}

impl SourceTask for FileSourceTask {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn restore(&mut self, offset: &Json) -> Result<()> {
        // A position in another file (the connector was re-created over a
        // different one) does not apply: Connect keys offsets by file too.
        let same_file = match offset.get("filename").and_then(Json::as_str) {
            Some(f) => std::path::Path::new(f) == self.path,
            None => true,
        };
        self.position = match offset.get("position").and_then(Json::as_u64) {
            Some(p) if same_file => p,
            _ => 0,
        };
        Ok(())
    }

    fn poll(&mut self) -> Result<(Vec<SourceRecord>, u64)> {
        let mut file = self.open()?;
        let len = file.metadata()?.len();
        if len < self.position {
            // Truncated or replaced: start over, as a new file.
            tracing::warn!(file = %self.path.display(), "file shrank; reading it from the start");
            self.position = 0;
        }
        if len == self.position {
            return Ok((Vec::new(), 100));
        }
        file.seek(SeekFrom::Start(self.position))?;
        let mut buf = Vec::new();
        // At most 4 MiB per poll.
        file.take(4 << 20).read_to_end(&mut buf)?;
        let mut out = Vec::new();
        let mut start = 0;
        while out.len() < self.batch {
            let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') else {
                break;
            };
            let mut line = &buf[start..start + nl];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            start += nl + 1;
            let value = self.converter.encode(&ConnectValue {
                schema: ConnectType::String,
                data: Json::String(String::from_utf8_lossy(line).into_owned()),
            })?;
            out.push(SourceRecord {
                key: None,
                value: Some(value),
                offset: json!({
                    "filename": self.path.display().to_string(),
                    "position": self.position + start as u64,
                }),
            });
        }
        self.position += start as u64;
        // A partial last line waits for its newline.
        let more = out.len() == self.batch;
        Ok((out, if more { 0 } else { 100 }))
    }
}

/// Appends records' values to a file.
pub struct FileSinkTask {
    path: PathBuf,
    topics: Vec<String>,
    converter: Converter,
    file: std::io::BufWriter<std::fs::File>,
}

impl FileSinkTask {
    pub fn new(config: &ConnectorConfig, ctx: &Context) -> Result<FileSinkTask> {
        let path = PathBuf::from(config.required("file")?);
        let topics = config.list("topics");
        if topics.is_empty() {
            return Err(Error::plan(
                "Missing required configuration \"topics\" which has no default value.",
            ));
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("Couldn't find or create file {}: {e}", path.display()),
                ))
            })?;
        Ok(FileSinkTask {
            path,
            topics,
            converter: super::converter::value_converter(config, ctx, "")?,
            file: std::io::BufWriter::new(file),
        })
    }
}

impl SinkTask for FileSinkTask {
    fn topics(&self) -> &[String] {
        &self.topics
    }

    fn put(&mut self, _topic: &str, records: &[StoredRecord]) -> Result<()> {
        for r in records {
            let line = match &r.record.value {
                Some(v) => self.converter.decode_text(v)?,
                None => "null".to_string(),
            };
            self.file.write_all(line.as_bytes())?;
            self.file.write_all(b"\n")?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data().map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("Couldn't sync file {}: {e}", self.path.display()),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_emits_complete_lines_and_resumes_at_its_position() {
        let ctx = crate::connect::task::tests_context();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "a\nbb\npartial").unwrap();
        let config = ConnectorConfig::new(
            "f",
            [
                ("file", path.to_str().unwrap()),
                ("topic", "t"),
                (
                    "value.converter",
                    "org.apache.kafka.connect.storage.StringConverter",
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let mut t = FileSourceTask::new(&config, &ctx).unwrap();
        let (rs, _) = t.poll().unwrap();
        let lines: Vec<_> = rs.iter().map(|r| r.value.clone().unwrap()).collect();
        assert_eq!(lines, vec![b"a".to_vec(), b"bb".to_vec()]);
        assert_eq!(rs[1].offset["position"], json!(5));
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b" line\nc\n")
            .unwrap();
        let mut again = FileSourceTask::new(&config, &ctx).unwrap();
        again.restore(&rs[1].offset).unwrap();
        let (rs, _) = again.poll().unwrap();
        let lines: Vec<_> = rs.iter().map(|r| r.value.clone().unwrap()).collect();
        assert_eq!(lines, vec![b"partial line".to_vec(), b"c".to_vec()]);
        // Another file's position does not apply.
        let mut other = FileSourceTask::new(&config, &ctx).unwrap();
        other
            .restore(&json!({"filename": "/elsewhere", "position": 5}))
            .unwrap();
        assert_eq!(other.poll().unwrap().0.len(), 4);
        let dir_config = ConnectorConfig::new(
            "f",
            [("file", dir.path().to_str().unwrap()), ("topic", "t")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let err = FileSourceTask::new(&dir_config, &ctx)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("directory"), "{err}");
    }
}
