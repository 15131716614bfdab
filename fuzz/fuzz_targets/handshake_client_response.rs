//! Fuzz target `handshake_client_response`: see `wsproto_fuzz::checks::handshake_client_response` for the input layout and the checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::checks::handshake_client_response(data));
