//! Entropy as an input: masking keys and handshake nonces.
//!
//! RFC 6455 §5.3: the masking key "MUST be derived from a strong source of entropy". The default
//! is the ChaCha8 stream cipher keyed from the operating system (`getrandom`) and rekeyed from it
//! every 64 KiB of output, so one system call serves 16,384 frames and a key costs a couple of
//! nanoseconds instead of a share of a system call; tests and fuzzing inject a deterministic
//! source instead.
//!
//! Why ChaCha8: its keystream under an unknown key is unpredictable (the best known attacks
//! reach 7 rounds; Aumasson, "Too Much Crypto", 2019, recommends 8), and Go's runtime
//! generator (`ChaCha8Rand`) makes the same choice for the same job: cheap, unpredictable
//! numbers. A masking key only has to be unpredictable to the script that chooses the
//! payload (RFC 6455 §10.3); it protects no secret.

use std::fmt;
use std::sync::Arc;

/// A caller-supplied function that fills a buffer with random bytes.
pub type FillFn = dyn Fn(&mut [u8]) + Send + Sync;

/// Where random bytes come from; a field of [`Config`](crate::Config).
#[derive(Clone, Default)]
pub enum RngSource {
    /// A cryptographically secure generator (the ChaCha8 stream cipher) keyed from the
    /// operating system's CSPRNG (`getrandom`) on first use and rekeyed every 64 KiB of output.
    #[default]
    Os,
    /// A deterministic generator from a seed. **Predictable**: for tests and fuzzing only.
    Seeded(u64),
    /// A caller-supplied function that fills the buffer it is given.
    Custom(Arc<FillFn>),
}

impl fmt::Debug for RngSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Os => f.write_str("Os"),
            Self::Seeded(seed) => f.debug_tuple("Seeded").field(seed).finish(),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// A per-connection random byte generator built from an [`RngSource`].
///
/// ```
/// use wsproto::{Rng, RngSource};
///
/// let mut a = Rng::new(&RngSource::Seeded(7));
/// let mut b = Rng::new(&RngSource::Seeded(7));
/// assert_eq!(a.mask_key(), b.mask_key());
/// ```
pub struct Rng {
    kind: Kind,
}

enum Kind {
    /// Boxed, and built on first use: the stream is about 300 bytes and costs a system call.
    Os(Option<Box<ChaCha>>),
    Seeded(u64),
    Custom(Arc<FillFn>),
}

impl Rng {
    /// Creates a generator; the OS-keyed stream is set up on first use.
    pub fn new(source: &RngSource) -> Self {
        let kind = match source {
            RngSource::Os => Kind::Os(None),
            RngSource::Seeded(seed) => Kind::Seeded(*seed),
            RngSource::Custom(f) => Kind::Custom(f.clone()),
        };
        Self { kind }
    }

    /// Fills `dest` with random bytes.
    ///
    /// Panics only if the operating system's random source fails, which `getrandom` reports
    /// as impossible on the platforms it supports after boot.
    pub fn fill(&mut self, dest: &mut [u8]) {
        match &mut self.kind {
            Kind::Os(stream) => stream.get_or_insert_with(ChaCha::from_os).fill(dest),
            Kind::Seeded(state) => {
                for out in dest.chunks_mut(8) {
                    let word = splitmix64(state).to_le_bytes();
                    out.copy_from_slice(&word[..out.len()]);
                }
            }
            Kind::Custom(f) => f(dest),
        }
    }

    /// A fresh 4-byte masking key.
    #[inline]
    pub fn mask_key(&mut self) -> [u8; 4] {
        if let Kind::Os(Some(stream)) = &mut self.kind
            && let Some(key) = stream.take4()
        {
            return key;
        }
        let mut key = [0; 4];
        self.fill(&mut key);
        key
    }
}

impl fmt::Debug for Rng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.kind {
            Kind::Os(_) => "Os",
            Kind::Seeded(_) => "Seeded",
            Kind::Custom(_) => "Custom",
        };
        f.debug_struct("Rng").field("kind", &name).finish()
    }
}

fn os_fill(dest: &mut [u8]) {
    if let Err(err) = getrandom::fill(dest) {
        panic!("the operating system's random number generator failed: {err}");
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and good enough for deterministic tests.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ------------------------------------------------------------------ ChaCha

/// ChaCha blocks computed per refill.
const BLOCKS: usize = 4;
/// Bytes of keystream per refill: `BLOCKS` 64-byte blocks, 64 masking keys.
const BUF: usize = 64 * BLOCKS;
/// Double rounds of the production cipher: ChaCha8 (see the module docs).
const DOUBLE_ROUNDS: usize = 4;
/// Keystream bytes between two rekeyings from the operating system.
const REKEY_AFTER: u32 = 64 << 10;
/// "expand 32-byte k" (Bernstein, "ChaCha, a variant of Salsa20", 2008).
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// The ChaCha stream cipher (64-bit block counter, zero nonce) as a random generator: its
/// keystream, under a key nobody else knows, cannot be told from random bytes.
struct ChaCha {
    key: [u32; 8],
    counter: u64,
    buf: [u8; BUF],
    /// Bytes of `buf` already handed out.
    used: usize,
    /// Keystream bytes left before the next rekeying.
    until_rekey: u32,
}

impl ChaCha {
    fn from_os() -> Box<Self> {
        let mut stream = Box::new(Self { key: [0; 8], counter: 0, buf: [0; BUF], used: BUF, until_rekey: 0 });
        stream.rekey();
        stream
    }

    fn rekey(&mut self) {
        let mut seed = [0; 32];
        os_fill(&mut seed);
        for (word, bytes) in self.key.iter_mut().zip(seed.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        self.counter = 0;
        self.until_rekey = REKEY_AFTER;
    }

    fn refill(&mut self) {
        if self.until_rekey == 0 {
            self.rekey();
        }
        self.buf = blocks::<DOUBLE_ROUNDS>(&self.key, self.counter);
        self.counter += BLOCKS as u64;
        self.until_rekey -= BUF as u32;
        self.used = 0;
    }

    #[inline]
    fn take4(&mut self) -> Option<[u8; 4]> {
        let key = self.buf.get(self.used..self.used + 4)?.try_into().ok()?;
        self.used += 4;
        Some(key)
    }

    fn fill(&mut self, dest: &mut [u8]) {
        let mut dest = dest;
        while !dest.is_empty() {
            if self.used == BUF {
                self.refill();
            }
            let n = dest.len().min(BUF - self.used);
            let (now, rest) = dest.split_at_mut(n);
            now.copy_from_slice(&self.buf[self.used..self.used + n]);
            self.used += n;
            dest = rest;
        }
    }
}

/// `BLOCKS` consecutive ChaCha blocks from block `counter`, with `DR` double rounds.
fn blocks<const DR: usize>(key: &[u32; 8], counter: u64) -> [u8; BUF] {
    let mut out = [0; BUF];
    for (chunk, block) in out.chunks_exact_mut(64).zip(counter..) {
        let [k0, k1, k2, k3, k4, k5, k6, k7] = *key;
        let init = [
            SIGMA[0],
            SIGMA[1],
            SIGMA[2],
            SIGMA[3],
            k0,
            k1,
            k2,
            k3,
            k4,
            k5,
            k6,
            k7,
            block as u32,
            (block >> 32) as u32,
            0,
            0,
        ];
        // Sixteen locals rather than an array, so that the state lives in registers.
        let [mut x0, mut x1, mut x2, mut x3, mut x4, mut x5, mut x6, mut x7] =
            [init[0], init[1], init[2], init[3], init[4], init[5], init[6], init[7]];
        let [mut x8, mut x9, mut x10, mut x11, mut x12, mut x13, mut x14, mut x15] =
            [init[8], init[9], init[10], init[11], init[12], init[13], init[14], init[15]];
        for _ in 0..DR {
            [x0, x4, x8, x12] = quarter([x0, x4, x8, x12]);
            [x1, x5, x9, x13] = quarter([x1, x5, x9, x13]);
            [x2, x6, x10, x14] = quarter([x2, x6, x10, x14]);
            [x3, x7, x11, x15] = quarter([x3, x7, x11, x15]);
            [x0, x5, x10, x15] = quarter([x0, x5, x10, x15]);
            [x1, x6, x11, x12] = quarter([x1, x6, x11, x12]);
            [x2, x7, x8, x13] = quarter([x2, x7, x8, x13]);
            [x3, x4, x9, x14] = quarter([x3, x4, x9, x14]);
        }
        let x = [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15];
        for ((bytes, word), start) in chunk.chunks_exact_mut(4).zip(x).zip(init) {
            bytes.copy_from_slice(&word.wrapping_add(start).to_le_bytes());
        }
    }
    out
}

/// The ChaCha quarter round.
#[inline(always)]
fn quarter([mut a, mut b, mut c, mut d]: [u32; 4]) -> [u32; 4] {
    a = a.wrapping_add(b);
    d = (d ^ a).rotate_left(16);
    c = c.wrapping_add(d);
    b = (b ^ c).rotate_left(12);
    a = a.wrapping_add(b);
    d = (d ^ a).rotate_left(8);
    c = c.wrapping_add(d);
    b = (b ^ c).rotate_left(7);
    [a, b, c, d]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_source_gives_distinct_keys_across_refills() {
        let mut rng = Rng::new(&RngSource::Os);
        let keys: Vec<[u8; 4]> = (0..200).map(|_| rng.mask_key()).collect();
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert!(distinct.len() > 190, "keys repeat: {} distinct of 200", distinct.len());
    }

    #[test]
    fn os_source_fills_requests_larger_than_a_refill() {
        let mut rng = Rng::new(&RngSource::Os);
        let mut big = [0u8; 1000];
        rng.fill(&mut big);
        assert!(big.iter().filter(|&&b| b != 0).count() > 900);
    }

    #[test]
    fn os_sources_differ_between_generators() {
        let draw = || {
            let mut rng = Rng::new(&RngSource::Os);
            let mut out = [0u8; 32];
            rng.fill(&mut out);
            out
        };
        assert_ne!(draw(), draw());
    }

    #[test]
    fn os_source_rekeys_from_the_system_and_keeps_going() {
        let mut rng = Rng::new(&RngSource::Os);
        let mut seen = std::collections::HashSet::new();
        let mut chunk = [0u8; 4096];
        for _ in 0..(3 * REKEY_AFTER as usize / chunk.len()) {
            rng.fill(&mut chunk);
            assert!(seen.insert(chunk), "a 4 KiB chunk of keystream repeated");
        }
        let Kind::Os(Some(stream)) = &rng.kind else { unreachable!("an Os source") };
        assert!(stream.until_rekey < REKEY_AFTER);
    }

    #[test]
    fn chacha20_matches_rfc_8439_appendix_a1() {
        // RFC 8439 A.1, test vectors #1 and #2: all-zero key and nonce, block counters 0 and 1.
        let out = blocks::<10>(&[0; 8], 0);
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(&out[..64]),
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
             da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
        );
        assert_eq!(
            hex(&out[64..128]),
            "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed\
             29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"
        );
    }

    #[test]
    fn chacha8_matches_a_reference_keystream() {
        // ChaCha8, all-zero 256-bit key and nonce: the start of the first block, as
        // `rand_chacha`'s `ChaCha8Rng::from_seed([0; 32])` produces it.
        let out = blocks::<DOUBLE_ROUNDS>(&[0; 8], 0);
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(&out[..32]), "3e00ef2f895f40d67f5bb8e81f09a5a12c840ec3ce9a7f3b181be188ef711a1e");
    }

    #[test]
    fn seeded_sources_repeat_and_differ_by_seed() {
        let draw = |seed| {
            let mut rng = Rng::new(&RngSource::Seeded(seed));
            let mut out = [0u8; 13];
            rng.fill(&mut out);
            out
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn seeded_mask_keys_are_the_first_bytes_of_each_draw() {
        // Tests and fuzz corpora rely on this sequence: one SplitMix64 word per key.
        let mut rng = Rng::new(&RngSource::Seeded(7));
        let mut state = 7;
        for _ in 0..3 {
            let word = splitmix64(&mut state).to_le_bytes();
            assert_eq!(rng.mask_key(), [word[0], word[1], word[2], word[3]]);
        }
    }

    #[test]
    fn custom_source_is_called() {
        let mut rng = Rng::new(&RngSource::Custom(Arc::new(|b: &mut [u8]| b.fill(0xAB))));
        assert_eq!(rng.mask_key(), [0xAB; 4]);
    }
}
