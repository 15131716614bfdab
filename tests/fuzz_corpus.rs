//! Replays every input in `fuzz/corpus/<target>/` through the checks of that fuzz target, on
//! stable Rust, so that `cargo test` keeps the seeds and the interesting inputs the fuzzer
//! found passing. The checks are the fuzz package's own (`fuzz/src/checks/`), compiled here by
//! path; `scripts/fuzz.sh` runs the targets themselves.

#[path = "../fuzz/src/checks/mod.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        // Not the temporary files a running fuzzer may leave (`.tmp*`, ignored by git).
        .filter(|path| {
            path.is_file() && !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_has_a_seed_corpus_and_every_input_in_it_passes_its_checks() {
    for (target, check) in checks::TARGETS {
        let files = corpus(target);
        assert!(!files.is_empty(), "no seeds for {target}");
        for path in files {
            let data = std::fs::read(&path).expect("a readable corpus file");
            eprintln!("{target}: {}", path.display());
            check(&data);
        }
    }
}
