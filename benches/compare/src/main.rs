//! Side-by-side throughput of wsproto and the other Rust WebSocket crates (issue 6).
//!
//! ```text
//! compare [inmem] [--rounds N] [--sample-ms MS] [--only SUBSTRING] [--libs A,B,..]
//! compare echo-server --lib NAME --addr 127.0.0.1:PORT
//! compare echo-load --addr 127.0.0.1:PORT [--connections 16] [--in-flight 16] [--size 20]
//!                   [--seconds 5] [--warmup 1]
//! compare idle-memory --addr 127.0.0.1:PORT --pid SERVER_PID [--connections 1000]
//!                     [--idle-ms 1500] [--warmup 16]
//! compare profile-decode [--size 16] [--count 65536] [--iters 300] [--owned true]
//! compare split-echo [--runs 5]
//! ```
//!
//! `inmem` (the default) runs the in-memory cases (unmask, server decode, client encode) and
//! prints a Markdown table; progress goes to stderr. The echo commands are driven by
//! `scripts/compare.sh`, and so is `idle-memory`, which measures what an `echo-server` process
//! holds per idle connection. `profile-decode` runs wsproto's small-message decode path alone,
//! for `perf record` or `valgrind --tool=callgrind`. `split-echo` compares the clients' split
//! halves in two tasks. Each module's docs say exactly what is measured per library.

mod bench;
mod decode;
mod echo_load;
mod echo_server;
mod encode;
mod idle_memory;
mod split_echo;
mod unmask;
mod wire;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

fn flags(args: &[String]) -> Result<HashMap<String, String>, String> {
    let mut map = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag.strip_prefix("--").ok_or_else(|| format!("unexpected argument {flag}"))?;
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        map.insert(name.to_string(), value.clone());
    }
    Ok(map)
}

fn get<T: std::str::FromStr>(
    map: &HashMap<String, String>,
    name: &str,
    default: Option<T>,
) -> Result<T, String> {
    match map.get(name) {
        Some(v) => v.parse().map_err(|_| format!("--{name}: cannot parse {v}")),
        None => default.ok_or_else(|| format!("--{name} is required")),
    }
}

fn inmem(args: &HashMap<String, String>) -> Result<(), String> {
    let settings = bench::Settings {
        rounds: get(args, "rounds", Some(7))?,
        sample: Duration::from_millis(get(args, "sample-ms", Some(200))?),
    };
    if settings.rounds < 1 {
        return Err("--rounds must be at least 1".into());
    }
    let only: Option<String> = args.get("only").cloned();
    let mut cases = Vec::new();
    cases.extend(unmask::cases());
    cases.extend(decode::cases());
    cases.extend(encode::cases());
    if let Some(only) = &only {
        cases.retain(|c| c.name.contains(only.as_str()));
    }
    // For profiling one library: the memcpy reference stays, the other libraries go.
    if let Some(libs) = args.get("libs") {
        let keep: Vec<&str> = libs.split(',').chain([bench::MEMCPY]).collect();
        for case in &mut cases {
            case.entries.retain(|e| keep.contains(&e.lib));
        }
    }
    eprintln!("{} cases, {} rounds, ≥ {:?} per sample", cases.len(), settings.rounds, settings.sample);
    let table = bench::run_all(cases, &settings);
    println!("{table}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.first().map(String::as_str) {
        Some("inmem" | "echo-server" | "echo-load" | "idle-memory" | "profile-decode" | "split-echo") => {
            (args[0].as_str(), &args[1..])
        }
        _ => ("inmem", &args[..]),
    };
    let result = flags(rest).and_then(|f| match command {
        "inmem" => inmem(&f),
        "echo-server" => {
            let lib: String = get(&f, "lib", None)?;
            let addr = get(&f, "addr", None)?;
            echo_server::run(&lib, addr).map_err(|e| e.to_string())
        }
        "split-echo" => split_echo::run(get(&f, "runs", Some(5))?).map_err(|e| e.to_string()),
        "profile-decode" => {
            let size = get(&f, "size", Some(16))?;
            let owned = get(&f, "owned", Some(false))?;
            decode::profile_loop(size, get(&f, "count", Some(65_536))?, get(&f, "iters", Some(300))?, owned);
            Ok(())
        }
        "idle-memory" => {
            let idle = idle_memory::Idle {
                addr: get(&f, "addr", None)?,
                pid: get(&f, "pid", None)?,
                connections: get(&f, "connections", Some(1000))?,
                idle: Duration::from_millis(get(&f, "idle-ms", Some(1500))?),
                warmup: get(&f, "warmup", Some(16))?,
            };
            idle_memory::run(idle).map_err(|e| e.to_string())
        }
        _ => {
            let load = echo_load::Load {
                addr: get(&f, "addr", None)?,
                connections: get(&f, "connections", Some(16))?,
                in_flight: get(&f, "in-flight", Some(16))?,
                size: get(&f, "size", Some(20))?,
                seconds: get(&f, "seconds", Some(5.0))?,
                warmup: get(&f, "warmup", Some(1.0))?,
            };
            echo_load::run(load).map_err(|e| e.to_string())
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compare {command}: {e}");
            ExitCode::FAILURE
        }
    }
}
