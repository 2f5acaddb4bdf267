//! The Rust original as an oracle. `kvshape-reference check [--block-dim B] FILE` reads JSON Lines and writes one
//! verdict per line in `kvshape check`'s format (no digest: the original's digest module is not part of the
//! seed). `kvshape-reference canonical FILE` writes, for each line that parses, `serde_json::to_string` of it
//! whether it validates or not (tests/data/make_shape_vectors.py needs it for invalid shapes too).
//! Only what the seed needs from its crate is defined here; src/shape.rs is the seed, unchanged.
//! `kvshape-reference bench` and `kvshape-reference shapes` are the timing mode (src/bench.rs, for bench/run).

use std::io::{BufRead, BufReader, Write};

mod bench;
#[allow(dead_code)] // the seed, unchanged: nothing here calls its `digest`
mod shape;

/// The seed's crate error, as its checks use it.
#[derive(Debug)]
pub enum FibQuantError {
    CorruptPayload(String),
    DimensionNotDivisible { ambient_dim: usize, block_dim: usize },
    ResourceLimitExceeded(String),
}

pub type Result<T> = std::result::Result<T, FibQuantError>;

pub mod digest {
    /// Not part of the seed; never called by `check`.
    pub fn json_digest<T: serde::Serialize>(_schema: &str, _value: &T) -> crate::Result<String> {
        Ok(String::new())
    }
}

fn verdict(n: usize, line: &str, block_dim: Option<u32>) -> serde_json::Value {
    use serde_json::json;
    let shape: shape::KvTensorShapeV1 = match serde_json::from_str(line) {
        Ok(s) => s,
        Err(e) => return json!({"line": n, "ok": false, "stage": "parse", "error": e.to_string()}),
    };
    let checked = match block_dim {
        Some(b) => shape.validate_block_dim(b),
        None => shape.validate(),
    };
    match checked {
        Ok(()) => json!({
            "line": n, "ok": true,
            "vector_count": shape.vector_count().unwrap(),
            "element_count": shape.element_count().unwrap(),
            "canonical": serde_json::to_string(&shape).unwrap(),
        }),
        Err(FibQuantError::CorruptPayload(m)) => json!({"line": n, "ok": false, "stage": "validate",
                                                       "error": "corrupt_payload", "message": m}),
        Err(FibQuantError::ResourceLimitExceeded(m)) => json!({"line": n, "ok": false, "stage": "validate",
                                                              "error": "resource_limit_exceeded", "message": m}),
        Err(FibQuantError::DimensionNotDivisible { ambient_dim, block_dim }) => json!({
            "line": n, "ok": false, "stage": "validate", "error": "dimension_not_divisible",
            "ambient_dim": ambient_dim, "block_dim": block_dim}),
    }
}

/// The seed's canonical JSON of one line, or null when it does not parse.
fn canonical(n: usize, line: &str) -> serde_json::Value {
    let text = serde_json::from_str::<shape::KvTensorShapeV1>(line).ok().map(|s| serde_json::to_string(&s).unwrap());
    serde_json::json!({"line": n, "canonical": text})
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: kvshape-reference check [--block-dim B] FILE");
        eprintln!("       kvshape-reference canonical FILE");
        eprintln!("       kvshape-reference bench [--iters N] [--reps R] [--min-ms M]");
        eprintln!("       kvshape-reference shapes");
        std::process::exit(2)
    };
    match args.get(1).map(String::as_str) {
        Some("bench") => {
            if let Err(e) = bench::run(&args[2..]) {
                eprintln!("kvshape-reference bench: {e}");
                usage();
            }
            return;
        }
        Some("shapes") if args.len() == 2 => return bench::dump_shapes(),
        _ => {}
    }
    let canonical_mode = args.get(1).map(String::as_str) == Some("canonical");
    if args.len() < 3 || (args[1] != "check" && !canonical_mode) || (canonical_mode && args.len() != 3) {
        usage();
    }
    let (block_dim, path) = match args.len() {
        3 => (None, &args[2]),
        5 if args[2] == "--block-dim" => (Some(args[3].parse::<u32>().unwrap_or_else(|_| usage())), &args[4]),
        _ => usage(),
    };
    let file = std::fs::File::open(path).unwrap_or_else(|e| {
        eprintln!("kvshape-reference: {path}: {e}");
        std::process::exit(2)
    });
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    // Lines as bytes: a line that is not UTF-8 cannot reach serde_json::from_str and is reported as such.
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let bytes = line.expect("read error");
        let v = match std::str::from_utf8(&bytes) {
            Ok(text) if canonical_mode => canonical(i + 1, text.strip_suffix('\r').unwrap_or(text)),
            Ok(text) => verdict(i + 1, text.strip_suffix('\r').unwrap_or(text), block_dim),
            Err(_) => serde_json::json!({"line": i + 1, "ok": false, "stage": "parse", "error": "not UTF-8"}),
        };
        writeln!(out, "{v}").unwrap();
    }
}
