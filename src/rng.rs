//! Entropy as an input: masking keys and handshake nonces.
//!
//! RFC 6455 §5.3: the masking key "MUST be derived from a strong source of entropy". The default
//! draws from the operating system in batches, so one system call serves many frames; tests and
//! fuzzing inject a deterministic source instead.

use std::fmt;
use std::sync::Arc;

/// A caller-supplied function that fills a buffer with random bytes.
pub type FillFn = dyn Fn(&mut [u8]) + Send + Sync;

/// Where random bytes come from; a field of [`Config`](crate::Config).
#[derive(Clone, Default)]
pub enum RngSource {
    /// The operating system's CSPRNG (`getrandom`), read in batches of 256 bytes.
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

const BATCH: usize = 256;

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
    Os { batch: Option<Box<[u8; BATCH]>>, used: usize },
    Seeded(u64),
    Custom(Arc<FillFn>),
}

impl Rng {
    /// Creates a generator; the OS batch buffer is allocated on first use.
    pub fn new(source: &RngSource) -> Self {
        let kind = match source {
            RngSource::Os => Kind::Os { batch: None, used: BATCH },
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
            Kind::Os { batch, used } => {
                let batch = batch.get_or_insert_with(|| Box::new([0; BATCH]));
                for out in dest.chunks_mut(BATCH) {
                    if BATCH - *used < out.len() {
                        os_fill(&mut batch[..]);
                        *used = 0;
                    }
                    out.copy_from_slice(&batch[*used..*used + out.len()]);
                    *used += out.len();
                }
            }
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
    pub fn mask_key(&mut self) -> [u8; 4] {
        let mut key = [0; 4];
        self.fill(&mut key);
        key
    }
}

impl fmt::Debug for Rng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.kind {
            Kind::Os { .. } => "Os",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_source_gives_distinct_keys_across_batch_refills() {
        let mut rng = Rng::new(&RngSource::Os);
        let keys: Vec<[u8; 4]> = (0..200).map(|_| rng.mask_key()).collect();
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert!(distinct.len() > 190, "keys repeat: {} distinct of 200", distinct.len());
    }

    #[test]
    fn os_source_fills_requests_larger_than_a_batch() {
        let mut rng = Rng::new(&RngSource::Os);
        let mut big = [0u8; 1000];
        rng.fill(&mut big);
        assert!(big.iter().filter(|&&b| b != 0).count() > 900);
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
    fn custom_source_is_called() {
        let mut rng = Rng::new(&RngSource::Custom(Arc::new(|b: &mut [u8]| b.fill(0xAB))));
        assert_eq!(rng.mask_key(), [0xAB; 4]);
    }
}
