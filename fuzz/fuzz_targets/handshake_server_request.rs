//! Fuzz target `handshake_server_request`: see `wsproto_fuzz::checks::handshake_server_request` for the input layout and the checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::checks::handshake_server_request(data));
