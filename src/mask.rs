//! Masking (RFC 6455 §5.3): XOR of the payload with a repeating 4-byte key.
//!
//! RFC 6455 §5.3: "Octet i of the transformed data ("transformed-octet-i") is the XOR of octet i
//! of the original data ("original-octet-i") with octet at index i modulo 4 of the masking key
//! ("masking-key-octet-j")". Masking and unmasking are the same operation.
//!
//! The bulk runs on explicit SIMD chosen once at run time and cached: AVX-512 F, AVX2 or SSE2
//! on x86_64, NEON on aarch64, and a safe `u64` word loop elsewhere and for buffers under 16
//! bytes. The SIMD kernels store the middle of the buffer aligned and cover the unaligned head
//! and tail with one overlapping vector each (see `overlapped_kernel!`), so from 1 KiB up they
//! run at memcpy speed. Every path is tested against [`apply_mask_scalar`] at every offset and
//! length up to 300, at misaligned addresses, and under Miri (`scripts/miri.sh`).
//!
//! One of the two modules of the crate with `unsafe` code (with `receive_buffer`); each block
//! states why it is sound.
//! Panics: none.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

/// Buffers shorter than this take the word loop: SIMD set-up and dispatch cost more than they save.
const SIMD_MIN: usize = 16;

/// XORs `buf` in place with `key`, where `buf[0]` is byte `offset` of the payload, so byte `i`
/// of `buf` is XORed with `key[(offset + i) % 4]`. Masking and unmasking are the same operation.
///
/// A payload may be masked in pieces: mask the piece starting at payload byte `n` with
/// `offset = n`. Runs at close to memory bandwidth (explicit SIMD, chosen once at run time).
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate_key(key, offset);
    if buf.len() < SIMD_MIN {
        mask_words(buf, key);
        return;
    }
    mask_bulk(buf, key);
}

/// Appends `src` XOR the mask to `dst` in one pass, with the same meaning of `key` and `offset`
/// as [`apply_mask`]: `src[0]` is byte `offset` of the payload.
///
/// For a sender that must leave `src` untouched (a shared buffer); masking a copy in place
/// instead would walk the bytes twice.
pub fn copy_masked(dst: &mut Vec<u8>, src: &[u8], key: [u8; 4], offset: usize) {
    let key = rotate_key(key, offset);
    if src.len() < SIMD_MIN || !HAS_SIMD {
        let start = dst.len();
        dst.extend_from_slice(src);
        mask_words(&mut dst[start..], key);
        return;
    }
    dst.reserve(src.len());
    let spare = dst.spare_capacity_mut();
    debug_assert!(spare.len() >= src.len());
    // SAFETY: `reserve` made room for `src.len()` more bytes, so `spare` (the vector's unused
    // capacity) is valid for writes of `src.len()` bytes; `src` is a shared borrow distinct from
    // the `&mut` vector, so the two ranges do not overlap. `xor_simd` initialises exactly those
    // bytes, which makes `set_len` to `len + src.len()` sound.
    unsafe {
        xor_simd(src.as_ptr(), spare.as_mut_ptr().cast::<u8>(), src.len(), key);
        dst.set_len(dst.len() + src.len());
    }
}

/// The reference implementation: one byte at a time. For tests and benchmarks.
#[doc(hidden)]
pub fn apply_mask_scalar(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset.wrapping_add(i)) & 3];
    }
}

/// The key as seen from payload byte `offset`: byte 0 of the result masks `buf[0]`.
#[inline]
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let shift = 8 * (offset & 3) as u32;
    u32::from_le_bytes(key).rotate_right(shift).to_le_bytes()
}

/// Safe portable path: eight bytes at a time, then the rest. `key` is already rotated.
#[inline]
fn mask_words(buf: &mut [u8], key: [u8; 4]) {
    let [a, b, c, d] = key;
    let key8 = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut words = buf.chunks_exact_mut(8);
    for word in &mut words {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        word.copy_from_slice(&(u64::from_ne_bytes(w) ^ key8).to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, so the key phase is still 0.
    for (byte, k) in words.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

/// In-place bulk masking with the best SIMD the machine has. `key` is already rotated.
#[inline]
fn mask_bulk(buf: &mut [u8], key: [u8; 4]) {
    if !HAS_SIMD {
        mask_words(buf, key);
        return;
    }
    let ptr = buf.as_mut_ptr();
    // SAFETY: `ptr` comes from `buf`, valid for reads and writes of `buf.len()` bytes;
    // source and destination are the same pointer, which `xor_simd` allows.
    unsafe { xor_simd(ptr, ptr, buf.len(), key) }
}

/// Above this length the AVX2 kernel beats the AVX-512 one on the machines measured (2.5–3.5 %
/// from 64 KiB to 1 MiB, where the data no longer fits in L1 and 64-byte stores gain nothing);
/// at and below it AVX-512 is ahead (by 20 % at 1 KiB). Measured with `compare inmem --only
/// unmask` (benches/compare), forcing one kernel at a time.
#[cfg(target_arch = "x86_64")]
const AVX512_MAX: usize = 32 << 10;

/// Whether this architecture has a SIMD kernel (`xor_simd`); otherwise the word loop does all.
const HAS_SIMD: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// Writes `src[i] ^ key[i % 4]` to `dst[i]` for `i < len`, with the machine's best kernel.
///
/// # Safety
/// `src` must be valid for reads and `dst` valid for writes of `len` bytes, and either
/// `src == dst` or the two ranges do not overlap.
#[cfg(target_arch = "x86_64")]
#[inline]
unsafe fn xor_simd(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    // SAFETY: the caller's contract is the kernels' contract; each kernel runs only when
    // `x86::level` detected its target features on this CPU.
    unsafe {
        match x86::level() {
            x86::AVX512 if len <= AVX512_MAX => x86::xor_avx512(src, dst, len, key),
            x86::AVX512 | x86::AVX2 => x86::xor_avx2(src, dst, len, key),
            _ => x86::xor_sse2(src, dst, len, key),
        }
    }
}

/// Writes `src[i] ^ key[i % 4]` to `dst[i]` for `i < len` with NEON.
///
/// # Safety
/// As for the x86_64 version: `src` readable, `dst` writable for `len` bytes, `src == dst` or
/// no overlap.
#[cfg(target_arch = "aarch64")]
#[inline]
unsafe fn xor_simd(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    // SAFETY: forwarded contract; NEON is part of the aarch64 baseline.
    unsafe { neon::xor_neon(src, dst, len, key) }
}

/// Never called: `HAS_SIMD` is false here and the word loop does all the work.
///
/// # Safety
/// As for the x86_64 version.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline]
unsafe fn xor_simd(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    // SAFETY: forwarded contract.
    unsafe { xor_tail(src, dst, len, key) }
}

/// Masks a few bytes with a `u64`, a `u32`, then single bytes. The key phase is 0 at `src`.
/// Correct (if slow) for any `len`; the SIMD kernels use it below one vector.
///
/// # Safety
/// As for `xor_simd`.
#[inline(always)]
unsafe fn xor_tail(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let key4 = u32::from_ne_bytes(key);
    let key8 = u64::from(key4) | (u64::from(key4) << 32);
    let mut i = 0;
    // SAFETY: every access is at `i..i + width` with `i + width <= len`, inside both ranges;
    // unaligned reads and writes need no alignment. With `src == dst` each byte is read before
    // it is written; otherwise the ranges are disjoint.
    unsafe {
        while len - i >= 8 {
            let w = src.add(i).cast::<u64>().read_unaligned();
            dst.add(i).cast::<u64>().write_unaligned(w ^ key8);
            i += 8;
        }
        if len - i >= 4 {
            let w = src.add(i).cast::<u32>().read_unaligned();
            dst.add(i).cast::<u32>().write_unaligned(w ^ key4);
            i += 4;
        }
        // `i` is a multiple of 4 here, so byte `i + j` takes `key[j]`.
        for (j, k) in key.iter().enumerate().take(len - i) {
            *dst.add(i + j) = *src.add(i + j) ^ k;
        }
    }
}

/// The body of every SIMD kernel, for `len >= W` (the vector width in bytes):
///
/// 1. the first and the last vector (`0..W`, `len - W..len`) are loaded and masked before
///    anything is stored, with unaligned loads;
/// 2. the middle is masked in vectors whose stores are `W`-aligned, four per iteration;
/// 3. the first and last vectors are stored last, over the unaligned head and tail.
///
/// The stores of step 3 overlap those of step 2, but only with the same values (both come from
/// the original bytes), so this is correct in place too, and it needs no scalar head or tail.
/// This is what glibc's `memcpy` does for the same reason: split stores are slow.
///
/// # Safety
/// As for `xor_simd`, with `len >= W`, and the target features of `$load`, `$store`, `$xor`
/// and `$splat` enabled.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
macro_rules! overlapped_kernel {
    ($src:ident, $dst:ident, $len:ident, $key:ident, W = $w:expr, splat: $splat:expr,
     load: $load:path, store: $store:path, xor: $xor:path $(,)?) => {{
        const W: usize = $w;
        let (src, dst, len, key) = ($src, $dst, $len, $key);
        debug_assert!(len >= W);
        let k = $splat(key);
        let last_key = $splat(super::rotate_key(key, len - W));
        // `align_offset` may answer "cannot" (`usize::MAX`): then go unaligned.
        let start = match dst.align_offset(W) {
            head if head > 0 && head < W => head,
            _ => W,
        };
        let middle_key = $splat(super::rotate_key(key, start));
        // SAFETY: every load reads `src[j..j + W]` and every store writes `dst[j..j + W]` for
        // some `j` with `j + W <= len` (`len >= W`; the loops keep `len - i > W`), so inside
        // both ranges, and these intrinsics accept unaligned addresses. Each byte is loaded
        // before anything is stored to it: the first and last vectors before the loops, each
        // loop vector just before its own store; so `src == dst` (in place) is fine, and
        // otherwise the ranges are disjoint.
        unsafe {
            let first = $xor($load(src.cast()), k);
            let last = $xor($load(src.add(len - W).cast()), last_key);
            if len > 2 * W {
                let (k, mut i) = (middle_key, start);
                while len - i > 4 * W {
                    let (s, d) = (src.add(i), dst.add(i));
                    let a = $load(s.cast());
                    let b = $load(s.add(W).cast());
                    let c = $load(s.add(2 * W).cast());
                    let e = $load(s.add(3 * W).cast());
                    $store(d.cast(), $xor(a, k));
                    $store(d.add(W).cast(), $xor(b, k));
                    $store(d.add(2 * W).cast(), $xor(c, k));
                    $store(d.add(3 * W).cast(), $xor(e, k));
                    i += 4 * W;
                }
                // The block at `len - W` is `last`: stop before it.
                while len - i > W {
                    $store(dst.add(i).cast(), $xor($load(src.add(i).cast()), k));
                    i += W;
                }
            }
            $store(dst.cast(), first);
            $store(dst.add(len - W).cast(), last);
        }
    }};
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! x86_64 kernels and the cached feature level.
    use core::arch::x86_64::*;
    use core::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 0;
    pub(super) const SSE2: u8 = 1;
    pub(super) const AVX2: u8 = 2;
    pub(super) const AVX512: u8 = 3;

    /// The detected level, written once; `UNKNOWN` until the first bulk call.
    static LEVEL: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// The best kernel this CPU runs. One relaxed load after the first call.
    #[inline]
    pub(super) fn level() -> u8 {
        match LEVEL.load(Ordering::Relaxed) {
            UNKNOWN => detect(),
            level => level,
        }
    }

    #[cold]
    fn detect() -> u8 {
        let level = if is_x86_feature_detected!("avx512f") {
            AVX512
        } else if is_x86_feature_detected!("avx2") {
            AVX2
        } else {
            SSE2
        };
        // Racing first calls all store the same value.
        LEVEL.store(level, Ordering::Relaxed);
        level
    }

    /// SSE2 (the x86_64 baseline), 16-byte vectors; below 16 bytes, the word tail.
    ///
    /// # Safety
    /// As for `super::xor_simd`.
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn xor_sse2(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
        if len < 16 {
            // SAFETY: the caller's contract.
            return unsafe { super::xor_tail(src, dst, len, key) };
        }
        let splat = |key: [u8; 4]| _mm_set1_epi32(i32::from_ne_bytes(key));
        overlapped_kernel! {
            src, dst, len, key, W = 16, splat: splat,
            load: _mm_loadu_si128, store: _mm_storeu_si128, xor: _mm_xor_si128,
        }
    }

    /// AVX2, 32-byte vectors; below 32 bytes, SSE2.
    ///
    /// # Safety
    /// As for `super::xor_simd`, and the CPU supports AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn xor_avx2(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
        if len < 32 {
            // SAFETY: the caller's contract; SSE2 is implied by AVX2.
            return unsafe { xor_sse2(src, dst, len, key) };
        }
        let splat = |key: [u8; 4]| _mm256_set1_epi32(i32::from_ne_bytes(key));
        overlapped_kernel! {
            src, dst, len, key, W = 32, splat: splat,
            load: _mm256_loadu_si256, store: _mm256_storeu_si256, xor: _mm256_xor_si256,
        }
    }

    /// AVX-512, 64-byte vectors; below 64 bytes, AVX2.
    ///
    /// (Masked loads and stores would cover short buffers in one operation, but a load from
    /// bytes that a masked store just wrote cannot be forwarded from the store buffer: reading
    /// a freshly unmasked short frame would stall. Overlapping AVX2 vectors measured faster.)
    ///
    /// # Safety
    /// As for `super::xor_simd`, and the CPU supports AVX-512 F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn xor_avx512(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
        if len < 64 {
            // SAFETY: the caller's contract; AVX2 is implied by AVX-512 F.
            return unsafe { xor_avx2(src, dst, len, key) };
        }
        let splat = |key: [u8; 4]| _mm512_set1_epi32(i32::from_ne_bytes(key));
        overlapped_kernel! {
            src, dst, len, key, W = 64, splat: splat,
            load: _mm512_loadu_si512, store: _mm512_storeu_si512, xor: _mm512_xor_si512,
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    //! aarch64 kernel; NEON is always present there.
    use core::arch::aarch64::*;

    /// NEON, 16-byte vectors; below 16 bytes, the word tail.
    ///
    /// # Safety
    /// As for `super::xor_simd`.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn xor_neon(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
        if len < 16 {
            // SAFETY: the caller's contract.
            return unsafe { super::xor_tail(src, dst, len, key) };
        }
        let splat = |[a, b, c, d]: [u8; 4]| {
            let bytes = [a, b, c, d, a, b, c, d, a, b, c, d, a, b, c, d];
            // SAFETY: `bytes` is 16 readable bytes.
            unsafe { vld1q_u8(bytes.as_ptr()) }
        };
        overlapped_kernel! {
            src, dst, len, key, W = 16, splat: splat,
            load: vld1q_u8, store: vst1q_u8, xor: veorq_u8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Under Miri every byte costs thousands of times more: keep the sweeps short there.
    const MAX_LEN: usize = if cfg!(miri) { 64 } else { 300 };

    type Kernel = unsafe fn(*const u8, *mut u8, usize, [u8; 4]);
    type InPlace = Box<dyn Fn(&mut [u8], [u8; 4], usize)>;

    /// Every raw kernel this CPU can run, called directly rather than through the dispatch.
    fn kernels() -> Vec<(&'static str, Kernel)> {
        #[allow(unused_mut)] // Only the tail on architectures without a SIMD kernel.
        let mut kernels: Vec<(&'static str, Kernel)> = vec![("tail", xor_tail)];
        #[cfg(target_arch = "x86_64")]
        {
            kernels.push(("sse2", x86::xor_sse2));
            if is_x86_feature_detected!("avx2") {
                kernels.push(("avx2", x86::xor_avx2));
            }
            if is_x86_feature_detected!("avx512f") {
                kernels.push(("avx512", x86::xor_avx512));
            }
        }
        #[cfg(target_arch = "aarch64")]
        kernels.push(("neon", neon::xor_neon));
        kernels
    }

    /// Every in-place implementation, each taking an unrotated key and an offset.
    fn in_place() -> Vec<(&'static str, InPlace)> {
        let mut all: Vec<(&'static str, InPlace)> = vec![
            ("apply_mask", Box::new(apply_mask)),
            ("words", Box::new(|b, k, o| mask_words(b, rotate_key(k, o)))),
        ];
        for (name, kernel) in kernels() {
            all.push((
                name,
                Box::new(move |buf: &mut [u8], key, offset| {
                    let p = buf.as_mut_ptr();
                    // SAFETY: `p` covers `buf`; in place is allowed; `kernels` lists only
                    // kernels whose features were detected.
                    unsafe { kernel(p, p, buf.len(), rotate_key(key, offset)) }
                }),
            ));
        }
        all
    }

    /// Test data that is not periodic with the key.
    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn expected(src: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
        let mut out = src.to_vec();
        apply_mask_scalar(&mut out, key, offset);
        out
    }

    /// Checks every implementation, in place and copying, on `src` placed at byte `start` of
    /// a guarded buffer; the guard bytes around it must stay untouched.
    /// Every implementation, built once per test (feature detection is slow under Miri).
    struct Impls {
        in_place: Vec<(&'static str, InPlace)>,
        kernels: Vec<(&'static str, Kernel)>,
    }

    fn impls() -> Impls {
        Impls { in_place: in_place(), kernels: kernels() }
    }

    fn check(impls: &Impls, src: &[u8], key: [u8; 4], offset: usize, start: usize) {
        const FILL: [u8; 64] = [0x5A; 64];
        let want = expected(src, key, offset);
        let len = src.len();
        let ctx = |name: &str| format!("{name}: len {len}, offset {offset}, start {start}");
        // Slice comparisons (memcmp) rather than byte loops: far cheaper under Miri.
        let guards_intact =
            |backing: &[u8]| backing[..start] == FILL[..start] && backing[start + len..] == FILL[..];
        for (name, f) in &impls.in_place {
            let mut backing = vec![0x5A; start + len + FILL.len()];
            backing[start..start + len].copy_from_slice(src);
            f(&mut backing[start..start + len], key, offset);
            assert_eq!(backing[start..start + len], want[..], "{}", ctx(name));
            assert!(guards_intact(&backing), "{}", ctx(name));
        }
        for &(name, kernel) in &impls.kernels {
            let mut backing = vec![0x5A; start + len + FILL.len()];
            let dst = backing[start..].as_mut_ptr();
            // SAFETY: `src` readable and `dst` writable for `len` bytes, distinct allocations.
            unsafe { kernel(src.as_ptr(), dst, len, rotate_key(key, offset)) };
            assert_eq!(backing[start..start + len], want[..], "copy {}", ctx(name));
            assert!(guards_intact(&backing), "copy {}", ctx(name));
        }
        let mut out = vec![1, 2, 3];
        copy_masked(&mut out, src, key, offset);
        assert_eq!(out[..3], [1, 2, 3], "{}", ctx("copy_masked"));
        assert_eq!(out[3..], want[..], "{}", ctx("copy_masked"));
    }

    const KEY: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

    #[test]
    fn kernels_for_the_enabled_target_features_are_tested() {
        let names: Vec<_> = kernels().into_iter().map(|(name, _)| name).collect();
        if cfg!(target_arch = "x86_64") {
            assert!(names.contains(&"sse2"));
        }
        if cfg!(all(target_arch = "x86_64", target_feature = "avx2")) {
            assert!(names.contains(&"avx2"));
        }
        if cfg!(all(target_arch = "x86_64", target_feature = "avx512f")) {
            assert!(names.contains(&"avx512"));
        }
        if cfg!(target_arch = "aarch64") {
            assert!(names.contains(&"neon"));
        }
    }

    #[test]
    fn rotated_key_starts_at_the_offset_byte() {
        for offset in 0..8 {
            let rotated = rotate_key(KEY, offset);
            for (j, &k) in rotated.iter().enumerate() {
                assert_eq!(k, KEY[(offset + j) % 4]);
            }
        }
    }

    #[test]
    fn rfc_example_masks_hello() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let mut hello = *b"Hello";
        apply_mask(&mut hello, KEY, 0);
        assert_eq!(hello, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    /// Lengths to sweep: all of `0..=300`, or under Miri all up to 40 and then the edges of
    /// every vector width and unrolled loop.
    fn lengths() -> Vec<usize> {
        if cfg!(miri) {
            let edges = [63, 64, 65, 127, 129, 255, 257];
            (0..=40).chain(edges).collect()
        } else {
            (0..=300).collect()
        }
    }

    #[test]
    fn every_implementation_matches_scalar_at_every_offset_and_length() {
        let impls = impls();
        for len in lengths() {
            let src = data(len);
            for offset in 0..4 {
                check(&impls, &src, KEY, offset, 0);
            }
        }
    }

    #[test]
    fn every_implementation_matches_scalar_at_misaligned_addresses() {
        let impls = impls();
        let (lens, starts): (&[usize], Vec<usize>) = if cfg!(miri) {
            (&[13, 515], (0..4).chain([7, 17, 33, 63]).collect())
        } else {
            (&[13, 64, 100, 255, 512, 515, 700, 1027], (0..64).collect())
        };
        for &len in lens {
            let src = data(len);
            for &start in &starts {
                check(&impls, &src, KEY, start % 4 + start / 16, start);
            }
        }
    }

    #[test]
    fn every_implementation_matches_scalar_on_large_buffers() {
        let impls = impls();
        let lens: &[usize] = if cfg!(miri) { &[4096 + 5] } else { &[4096 + 5, 65536 + 3, (1 << 20) + 7] };
        for &len in lens {
            let src = data(len);
            check(&impls, &src, [0xFF, 0x00, 0x81, 0x7E], 3, 0);
            check(&impls, &src, [0xFF, 0x00, 0x81, 0x7E], 2, 7);
        }
    }

    #[test]
    fn offsets_near_usize_max_wrap_like_arithmetic_mod_4() {
        let impls = impls();
        let src = data(40);
        for offset in [usize::MAX, usize::MAX - 1, usize::MAX - 2, usize::MAX - 3] {
            check(&impls, &src, KEY, offset, 0);
        }
    }

    #[test]
    fn masking_twice_is_the_identity() {
        let src = data(MAX_LEN * 3 + 1);
        for offset in 0..4 {
            let mut buf = src.clone();
            apply_mask(&mut buf, KEY, offset);
            assert_ne!(buf, src);
            apply_mask(&mut buf, KEY, offset);
            assert_eq!(buf, src);
        }
    }

    #[test]
    fn masking_in_pieces_with_running_offsets_equals_masking_at_once() {
        let src = data(MAX_LEN * 2);
        let want = expected(&src, KEY, 1);
        for piece in [1, 3, 5, 17, 64, 100] {
            let mut buf = src.clone();
            let mut copied = Vec::new();
            let mut done = 0;
            for chunk in buf.chunks_mut(piece) {
                copy_masked(&mut copied, chunk, KEY, 1 + done);
                apply_mask(chunk, KEY, 1 + done);
                done += chunk.len();
            }
            assert_eq!(buf, want, "piece {piece}");
            assert_eq!(copied, want, "piece {piece}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: if cfg!(miri) { 4 } else { 512 },
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn apply_mask_and_copy_masked_agree_with_scalar(
            src in proptest::collection::vec(any::<u8>(), 0..if cfg!(miri) { 100 } else { 3000 }),
            key in any::<[u8; 4]>(),
            offset in any::<usize>(),
            start in 0usize..64,
        ) {
            let want = expected(&src, key, offset);
            let mut backing = vec![0; start + src.len()];
            backing[start..].copy_from_slice(&src);
            apply_mask(&mut backing[start..], key, offset);
            prop_assert_eq!(&backing[start..], &want[..]);
            let mut out = vec![9; start];
            copy_masked(&mut out, &src, key, offset);
            prop_assert_eq!(&out[start..], &want[..]);
        }
    }
}
