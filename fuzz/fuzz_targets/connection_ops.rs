//! Fuzz target `connection_ops`: see `wsproto_fuzz::checks::connection_ops` for the input layout and the checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::checks::connection_ops(data));
