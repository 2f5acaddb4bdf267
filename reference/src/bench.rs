//! Timing mode: the Rust original's own functions over the deterministic shape set that bench/shapes.hpp
//! generates for the C++ side. `kvshape-reference shapes` prints the set (serde_json::to_string, one per line)
//! so bench/run can check that both generators agree byte for byte; `kvshape-reference bench` prints one JSON
//! line per path: {"name", "what", "cpu_ns_per_op", "ns_per_op", "reps", "ops_per_rep", "min_cpu_ns_per_op",
//! "max_cpu_ns_per_op"}, where cpu_ns_per_op is the median over the repetitions of the thread's CPU time per op
//! (what Google Benchmark's cpu_time reports for a one-threaded benchmark), ns_per_op the median of wall time,
//! and one op is one call on one shape. CPU time is the figure to compare on a shared machine.

use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::shape::{KvAttentionKind, KvDType, KvRole, KvRopeState, KvTensorShapeV1, KV_SHAPE_SCHEMA};

/// Number of shapes in the set; both sides cycle through all of them.
pub const SHAPE_COUNT: usize = 64;

/// The set's generator: Knuth's MMIX LCG, state = state * 6364136223846793005 + 1442695040888963407 (mod 2^64),
/// starting from SEED; pick(n) steps it once and returns (state >> 33) % n. bench/shapes.hpp mirrors this
/// exactly; change both or neither.
const SEED: u64 = 0x5EED_F1B0_4B5F_0001;

struct Lcg(u64);

impl Lcg {
    fn pick(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
    fn choose(&mut self, values: &[u32]) -> u32 {
        values[self.pick(values.len() as u64) as usize]
    }
}

/// The 64 shapes, every one valid. Per shape, in this order: attention kind cycles mha, mqa, gqa (index % 3);
/// then role, rope state (keys: pre or post; values: not_applicable), dtype, heads (MHA: kv = query from
/// HEADS; MQA: kv 1, query from HEADS; GQA: kv from GQA_KV, query = kv * group from GROUPS), batch 1..=64,
/// layers from LAYERS, tokens 1..=131072, head_dim from HEAD_DIMS, each drawn with pick().
pub fn shapes() -> Vec<KvTensorShapeV1> {
    const HEADS: [u32; 8] = [1, 2, 4, 8, 16, 32, 40, 64];
    const GQA_KV: [u32; 5] = [1, 2, 4, 8, 16];
    const GROUPS: [u32; 4] = [2, 4, 7, 8];
    const LAYERS: [u32; 8] = [1, 12, 24, 28, 32, 40, 80, 126];
    const HEAD_DIMS: [u32; 6] = [64, 80, 96, 128, 192, 256];
    let mut g = Lcg(SEED);
    (0..SHAPE_COUNT)
        .map(|i| {
            let kind = [KvAttentionKind::Mha, KvAttentionKind::Mqa, KvAttentionKind::Gqa][i % 3];
            let role = if g.pick(2) == 0 { KvRole::Key } else { KvRole::Value };
            let rope = match role {
                KvRole::Key if g.pick(2) == 0 => KvRopeState::PreRope,
                KvRole::Key => KvRopeState::PostRope,
                _ => KvRopeState::NotApplicable,
            };
            let dtype = [KvDType::F16, KvDType::Bf16, KvDType::F32][g.pick(3) as usize];
            let (kv_heads, query_heads) = match kind {
                KvAttentionKind::Mha => {
                    let h = g.choose(&HEADS);
                    (h, h)
                }
                KvAttentionKind::Mqa => (1, g.choose(&HEADS)),
                _ => {
                    let kv = g.choose(&GQA_KV);
                    (kv, kv * g.choose(&GROUPS))
                }
            };
            let batch = 1 + g.pick(64) as u32;
            let layers = g.choose(&LAYERS);
            let tokens = 1 + g.pick(131072) as u32;
            let head_dim = g.choose(&HEAD_DIMS);
            KvTensorShapeV1::new(role, kind, batch, layers, kv_heads, query_heads, tokens, head_dim, dtype, rope)
        })
        .collect()
}

/// `kvshape-reference shapes`: the set, one compact JSON line per shape.
pub fn dump_shapes() {
    let out = std::io::stdout();
    let mut out = out.lock();
    for s in shapes() {
        assert!(s.validate().is_ok(), "generator produced an invalid shape");
        writeln!(out, "{}", serde_json::to_string(&s).unwrap()).unwrap();
    }
}

/// The baseline for fib_quant_kv's digest: the original's digest() is validate() then json_digest(schema, shape),
/// whose module is not in the seed; here json_digest is SHA-256 over the schema id and serde_json::to_vec(shape)
/// (sha2 0.10.5, Debian's librust-sha2-dev), the raw 32 bytes, no hex.
fn digest_baseline(s: &KvTensorShapeV1) -> Option<[u8; 32]> {
    s.validate().ok()?;
    let json = serde_json::to_vec(s).ok()?;
    let mut h = Sha256::new();
    h.update(KV_SHAPE_SCHEMA.as_bytes());
    h.update(&json);
    Some(h.finalize().into())
}

/// This thread's CPU time in ns (Linux: clock_gettime(CLOCK_THREAD_CPUTIME_ID); std has no CPU clock, and
/// the libc crate is not worth a dependency for one call).
fn thread_cpu_ns() -> u128 {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid, writable timespec.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

/// Per-op medians of `reps` repetitions of `passes` passes over `n` inputs: (CPU, wall, min CPU, max CPU).
fn time<F: FnMut(usize)>(n: usize, passes: u64, reps: usize, mut f: F) -> (f64, f64, f64, f64) {
    let ops = passes as f64 * n as f64;
    let (mut cpu, mut wall): (Vec<f64>, Vec<f64>) = (0..reps)
        .map(|_| {
            let (start, start_cpu) = (Instant::now(), thread_cpu_ns());
            for _ in 0..passes {
                for i in 0..n {
                    f(i);
                }
            }
            ((thread_cpu_ns() - start_cpu) as f64 / ops, start.elapsed().as_nanos() as f64 / ops)
        })
        .unzip();
    cpu.sort_by(|a, b| a.partial_cmp(b).unwrap());
    wall.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (cpu[reps / 2], wall[reps / 2], cpu[0], cpu[reps - 1])
}

/// Passes over the set so that one repetition takes at least `min_ms` (doubling from one pass).
fn calibrate<F: FnMut(usize)>(n: usize, min_ms: u64, mut f: F) -> u64 {
    let mut passes = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..passes {
            for i in 0..n {
                f(i);
            }
        }
        if start.elapsed().as_millis() as u64 >= min_ms || passes >= 1 << 30 {
            return passes;
        }
        passes *= 2;
    }
}

/// `kvshape-reference bench [--iters N] [--reps R] [--min-ms M]`: N passes over the set per repetition
/// (default: calibrated so that one repetition takes at least M ms, default 50), R repetitions (default 9).
pub fn run(args: &[String]) -> Result<(), String> {
    let mut iters: Option<u64> = None;
    let mut reps = 9usize;
    let mut min_ms = 50u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            it.next().and_then(|v| v.parse::<u64>().ok()).filter(|v| *v > 0).ok_or(format!("{name} needs a positive integer"))
        };
        match a.as_str() {
            "--iters" => iters = Some(value("--iters")?),
            "--reps" => reps = value("--reps")? as usize,
            "--min-ms" => min_ms = value("--min-ms")?,
            other => return Err(format!("unknown bench option {other}")),
        }
    }
    let set = shapes();
    let texts: Vec<String> = set.iter().map(|s| serde_json::to_string(s).unwrap()).collect();
    let n = set.len();
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut report = |name: &str, what: &str, f: &mut dyn FnMut(usize)| {
        let passes = iters.unwrap_or_else(|| calibrate(n, min_ms, &mut *f));
        let (cpu, wall, min, max) = time(n, passes, reps, &mut *f);
        let line = serde_json::json!({"name": name, "what": what, "cpu_ns_per_op": cpu, "ns_per_op": wall,
                                      "reps": reps, "ops_per_rep": passes * n as u64,
                                      "min_cpu_ns_per_op": min, "max_cpu_ns_per_op": max});
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    };
    report("validate", "shape.validate()", &mut |i| {
        black_box(black_box(&set[i]).validate().is_ok());
    });
    report("digest", "validate() + SHA-256(schema id, serde_json::to_vec(&shape))", &mut |i| {
        black_box(digest_baseline(black_box(&set[i])));
    });
    report("to_json", "serde_json::to_string(&shape)", &mut |i| {
        black_box(serde_json::to_string(black_box(&set[i])).unwrap());
    });
    report("from_str", "serde_json::from_str::<KvTensorShapeV1>(compact canonical text)", &mut |i| {
        black_box(serde_json::from_str::<KvTensorShapeV1>(black_box(texts[i].as_str())).unwrap());
    });
    Ok(())
}
