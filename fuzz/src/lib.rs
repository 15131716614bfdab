//! Support for the fuzz targets in `fuzz_targets/`: one check function per target, in
//! [`checks`], shared with the root crate's `tests/fuzz_corpus.rs`.

pub mod checks;
