//! `kprod dump`: like Kafka's dump-log-segments tool, for record batches.
//!
//! Output: one JSON object per line and record:
//!
//! ```text
//! {"offset":0,"timestamp":1700000000000,"key":"k","key_encoding":"utf8",
//!  "value":"00ff","value_encoding":"hex","headers":[{"key":"h","value":null}],
//!  "batch":{"magic":2,"base_offset":0,"compression":"zstd",...}}
//! ```
//!
//! Bytes are printed as UTF-8 text when they are valid UTF-8, otherwise as
//! lowercase hex; `*_encoding` says which (absent for null). A malformed or
//! truncated file, or a batch whose checksum does not match (unless
//! `--skip-crc-check`), ends the dump with a message on stderr and exit
//! status 2.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use bytes::Bytes;
use kafka_proto::record::{BatchInfo, Batches, TimestampType};
use serde_json::{Map, Value, json};

/// Arguments of `kprod dump`.
#[derive(clap::Args)]
pub(crate) struct DumpArgs {
    /// The file holding one or more record batches or legacy messages.
    file: PathBuf,
    /// Largest decompressed size of one batch, in bytes.
    #[arg(long, default_value_t = 256 << 20)]
    max_decompressed: usize,
    /// Print batches whose checksum does not match instead of failing.
    #[arg(long)]
    skip_crc_check: bool,
}

/// Runs the dump; exit status 0 on success, 2 on a malformed file.
pub(crate) fn run(args: &DumpArgs) -> ExitCode {
    match dump(args, &mut BufWriter::new(io::stdout().lock())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Malformed(msg)) => {
            eprintln!("kprod dump: {}: {msg}", args.file.display());
            ExitCode::from(2)
        }
        Err(Failure::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Io(e)) => {
            eprintln!("kprod dump: {}: {e}", args.file.display());
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Malformed(String),
    Io(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

fn dump(args: &DumpArgs, out: &mut impl Write) -> Result<(), Failure> {
    let data = std::fs::read(&args.file)?;
    if data.is_empty() {
        return Err(Failure::Malformed("the file is empty".into()));
    }
    let mut batches = Batches::new(Bytes::from(data));
    let mut position = 0usize;
    for entry in batches.by_ref() {
        let entry = entry.map_err(|e| Failure::Malformed(e.to_string()))?;
        let info = entry.info();
        if !info.crc_valid && !args.skip_crc_check {
            return Err(Failure::Malformed(format!(
                "batch at byte {position} (base offset {}) has a bad checksum: stored {:#010x}",
                info.base_offset, info.crc
            )));
        }
        let records = entry.records(args.max_decompressed).map_err(|e| {
            Failure::Malformed(format!(
                "batch at byte {position} (base offset {}): {e}",
                info.base_offset
            ))
        })?;
        let batch = batch_json(&info);
        for r in records {
            let mut obj = Map::new();
            obj.insert("offset".into(), json!(r.offset));
            obj.insert("timestamp".into(), json!(r.timestamp));
            put_bytes(&mut obj, "key", r.key.as_deref());
            put_bytes(&mut obj, "value", r.value.as_deref());
            let headers: Vec<Value> = r
                .headers
                .iter()
                .map(|h| {
                    let mut o = Map::new();
                    put_bytes(&mut o, "key", Some(&h.key));
                    put_bytes(&mut o, "value", h.value.as_deref());
                    Value::Object(o)
                })
                .collect();
            obj.insert("headers".into(), Value::Array(headers));
            obj.insert("batch".into(), batch.clone());
            serde_json::to_writer(&mut *out, &Value::Object(obj)).map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        }
        position += info.size;
    }
    out.flush()?;
    if batches.partial_tail() > 0 {
        return Err(Failure::Malformed(format!(
            "truncated batch at byte {position}: only {} bytes of it are present",
            batches.partial_tail()
        )));
    }
    Ok(())
}

fn put_bytes(obj: &mut Map<String, Value>, name: &str, bytes: Option<&[u8]>) {
    match bytes {
        None => {
            obj.insert(name.into(), Value::Null);
        }
        Some(b) => {
            let (text, encoding) = match std::str::from_utf8(b) {
                Ok(s) => (s.to_owned(), "utf8"),
                Err(_) => (b.iter().map(|x| format!("{x:02x}")).collect(), "hex"),
            };
            obj.insert(name.into(), Value::String(text));
            obj.insert(format!("{name}_encoding"), json!(encoding));
        }
    }
}

fn batch_json(info: &BatchInfo) -> Value {
    json!({
        "magic": info.magic,
        "base_offset": info.base_offset,
        "compression": info.compression.name(),
        "timestamp_type": match info.timestamp_type {
            TimestampType::CreateTime => "create_time",
            TimestampType::LogAppendTime => "log_append_time",
        },
        "transactional": info.transactional,
        "control": info.control,
        "producer_id": info.producer_id,
        "producer_epoch": info.producer_epoch,
        "base_sequence": info.base_sequence,
        "partition_leader_epoch": info.partition_leader_epoch,
        "crc": info.crc,
        "crc_valid": info.crc_valid,
        "size": info.size,
    })
}
