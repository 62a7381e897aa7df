//! `kprod dump` on the kafka-python test vectors and on broken files.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn kprod(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kprod"))
        .args(args)
        .output()
        .unwrap()
}

fn dump(path: &std::path::Path) -> (i32, Vec<Value>, String) {
    let out = kprod(&["dump".as_ref(), path.as_os_str()]);
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code().unwrap(),
        lines,
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn dumps_every_vector_like_kafka_python_wrote_it() {
    for entry in std::fs::read_dir(vectors()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("bin") {
            continue;
        }
        let (code, lines, err) = dump(&path);
        assert_eq!(code, 0, "{}: {err}", path.display());
        let want: Value =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap())
                .unwrap();
        let want: Vec<&Value> = want["batches"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["records"].as_array().unwrap())
            .collect();
        assert_eq!(lines.len(), want.len(), "{}", path.display());
        for (got, w) in lines.iter().zip(want) {
            assert_eq!(got["offset"], w["offset"]);
            assert_eq!(got["timestamp"], w["timestamp"]);
            for field in ["key", "value"] {
                let expected = w[field].as_str().map(|h| {
                    let bytes: Vec<u8> = (0..h.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                        .collect();
                    match String::from_utf8(bytes) {
                        Ok(s) => (s, "utf8"),
                        Err(_) => (h.to_owned(), "hex"),
                    }
                });
                match expected {
                    None => assert!(got[field].is_null()),
                    Some((text, enc)) => {
                        assert_eq!(got[field], Value::String(text));
                        assert_eq!(got[format!("{field}_encoding")], Value::String(enc.into()));
                    }
                }
            }
            assert_eq!(got["batch"]["crc_valid"], Value::Bool(true));
            assert_eq!(
                got["headers"].as_array().unwrap().len(),
                w["headers"].as_array().unwrap().len()
            );
        }
    }
}

#[test]
fn malformed_files_exit_2_with_a_message() {
    let dir = std::env::temp_dir().join(format!("kprod-dump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read(vectors().join("v2-zstd.bin")).unwrap();
    let mut corrupt = good.clone();
    corrupt[70] ^= 0xff;
    let mut bad_magic = good.clone();
    bad_magic[16] = 9;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty"),
        ("truncated", good[..good.len() - 3].to_vec(), "truncated"),
        ("crc", corrupt, "checksum"),
        ("magic", bad_magic, "magic"),
        (
            "garbage",
            b"this is not a record batch at all".to_vec(),
            "byte",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (code, _, err) = dump(&path);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
    }
    let (code, _, _) = dump(&dir.join("missing"));
    assert_eq!(code, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
