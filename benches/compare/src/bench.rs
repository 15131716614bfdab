//! The timing harness: every case's entries run interleaved, in an order rotated each round,
//! each sample long enough (≥ the sample time) to swamp timer and scheduling noise; the
//! report is the median per entry, with its ratio to the memcpy entry of the same case and to
//! the best peer.

use std::time::{Duration, Instant};

/// Runs `iters` iterations and returns how long they took.
pub type RunFn = Box<dyn FnMut(u64) -> Duration>;
/// Checks, once, that the entry produces the expected result.
pub type VerifyFn = Box<dyn FnMut() -> Result<(), String>>;

/// The library that the others are compared against in the "× best peer" column.
pub const OURS: &str = "wsproto";
/// The limit every case is compared against.
pub const MEMCPY: &str = "memcpy";

/// A row that is not a library under test (memcpy, or a reference such as
/// "(simdutf8 alone)"): shown, never a peer.
pub fn is_reference(lib: &str) -> bool {
    lib == MEMCPY || lib.starts_with('(')
}

pub struct Entry {
    pub lib: &'static str,
    pub run: RunFn,
    pub verify: Option<VerifyFn>,
}

impl Entry {
    pub fn new(lib: &'static str, run: RunFn) -> Self {
        Self { lib, run, verify: None }
    }

    pub fn verified(lib: &'static str, run: RunFn, verify: VerifyFn) -> Self {
        Self { lib, run, verify: Some(verify) }
    }
}

/// How a case's throughput is shown.
#[derive(Clone, Copy)]
pub enum Unit {
    /// Bytes per iteration, shown in GB/s.
    Bytes(u64),
    /// Messages per iteration, shown in M msgs/s (the wire GB/s column is shown too).
    Messages(u64),
}

pub struct Case {
    pub group: &'static str,
    pub name: String,
    pub unit: Unit,
    /// Wire bytes handled per iteration (the memcpy entry copies exactly this many).
    pub wire_bytes: u64,
    pub entries: Vec<Entry>,
    /// Libraries left out of this case, with the reason.
    pub skipped: Vec<(&'static str, String)>,
}

struct Slot {
    lib: &'static str,
    run: RunFn,
    iters: u64,
    /// Nanoseconds per iteration, one per round.
    samples: Vec<f64>,
    failed: Option<String>,
}

pub struct Settings {
    pub rounds: usize,
    pub sample: Duration,
}

/// Median of a non-empty slice.
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

fn calibrate(run: &mut RunFn, sample: Duration) -> u64 {
    let mut iters = 1u64;
    loop {
        let t = run(iters);
        if t >= sample / 8 || iters >= 1 << 40 {
            let per = t.as_secs_f64() / iters as f64;
            // 10 % above the minimum, so that no sample falls under it.
            return ((sample.as_secs_f64() * 1.1 / per).ceil() as u64).max(1);
        }
        iters *= if t < sample / 100 { 10 } else { 2 };
    }
}

/// Verifies and calibrates every entry, runs the rounds, and returns the report (Markdown).
pub fn run_all(cases: Vec<Case>, settings: &Settings) -> String {
    let mut slots: Vec<Vec<Slot>> = Vec::new();
    let mut meta = Vec::new();
    for case in cases {
        let mut case_slots = Vec::new();
        for mut entry in case.entries {
            let mut failed = None;
            if let Some(verify) = entry.verify.as_mut()
                && let Err(e) = verify()
            {
                eprintln!("  {} / {}: verification FAILED: {e}", case.name, entry.lib);
                failed = Some(e);
            }
            let iters = if failed.is_none() { calibrate(&mut entry.run, settings.sample) } else { 0 };
            eprintln!("  calibrated {:<28} {:<18} {iters:>10} iterations/sample", case.name, entry.lib);
            case_slots.push(Slot { lib: entry.lib, run: entry.run, iters, samples: Vec::new(), failed });
        }
        slots.push(case_slots);
        meta.push((case.group, case.name, case.unit, case.wire_bytes, case.skipped));
    }

    for round in 0..settings.rounds {
        let started = Instant::now();
        for case_slots in slots.iter_mut() {
            let n = case_slots.len();
            for k in 0..n {
                let slot = &mut case_slots[(k + round) % n];
                if slot.failed.is_some() {
                    continue;
                }
                let t = (slot.run)(slot.iters);
                slot.samples.push(t.as_nanos() as f64 / slot.iters as f64);
            }
        }
        eprintln!(
            "  round {}/{} done in {:.1} s",
            round + 1,
            settings.rounds,
            started.elapsed().as_secs_f64()
        );
    }

    report(&slots, &meta)
}

type Meta = (&'static str, String, Unit, u64, Vec<(&'static str, String)>);

fn report(slots: &[Vec<Slot>], meta: &[Meta]) -> String {
    let mut out = String::new();
    let mut group = "";
    for (case_slots, (g, name, unit, wire, skipped)) in slots.iter().zip(meta) {
        if *g != group {
            group = g;
            out.push_str(&format!("\n### {group}\n\n"));
            out.push_str("| case | library | median | wire GB/s | × memcpy | × best peer | spread |\n");
            out.push_str("|---|---|---:|---:|---:|---:|---:|\n");
        }
        let med = |s: &Slot| (s.failed.is_none() && !s.samples.is_empty()).then(|| median(&s.samples));
        let memcpy = case_slots.iter().find(|s| s.lib == MEMCPY).and_then(med);
        let best_peer = case_slots
            .iter()
            .filter(|s| !is_reference(s.lib) && s.lib != OURS)
            .filter_map(med)
            .fold(f64::INFINITY, f64::min);
        for slot in case_slots {
            let Some(ns) = med(slot) else {
                let why = slot.failed.clone().unwrap_or_default();
                out.push_str(&format!("| {name} | {} | failed: {why} | | | | |\n", slot.lib));
                continue;
            };
            let gbps = *wire as f64 / ns;
            let shown = match unit {
                Unit::Bytes(b) => format!("{:.2} GB/s", *b as f64 / ns),
                Unit::Messages(m) => format!("{:.2} M msgs/s", *m as f64 * 1e3 / ns),
            };
            let vs_memcpy = memcpy.map_or("–".into(), |m| format!("{:.2}", m / ns));
            let vs_best = if is_reference(slot.lib) || !best_peer.is_finite() {
                "–".into()
            } else {
                format!("{:.2}", best_peer / ns)
            };
            let (lo, hi) = slot.samples.iter().fold((f64::MAX, 0f64), |(l, h), &s| (l.min(s), h.max(s)));
            let spread = format!("{:.0} %", (hi - lo) / ns * 100.0);
            let lib = if slot.lib == OURS { format!("**{}**", slot.lib) } else { slot.lib.to_string() };
            out.push_str(&format!(
                "| {name} | {lib} | {shown} | {gbps:.2} | {vs_memcpy} | {vs_best} | {spread} |\n"
            ));
        }
        for (lib, why) in skipped {
            out.push_str(&format!("| {name} | {lib} | skipped: {why} | | | | |\n"));
        }
    }
    out
}
