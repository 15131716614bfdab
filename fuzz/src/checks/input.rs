//! Decoding fuzzer bytes into decisions: [`Input`] (small numbers, flags, byte strings) and
//! [`Splits`] (how a byte stream is cut into reads).

/// The fuzzer's bytes read front to back as a stream of decisions. Reads past the end give
/// zeros and empty slices, so every input decodes to something and loops that stop at
/// [`is_empty`](Self::is_empty) end.
#[derive(Debug)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// Up to `len` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, len: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// How a byte stream is cut into the reads handed to a `receive`: a cycle of read sizes
/// chosen by the fuzzer, or the whole stream in one read.
#[derive(Clone, Debug)]
pub struct Splits {
    sizes: Vec<usize>,
    next: usize,
}

impl Splits {
    /// One byte `n`, then `n & 7` size bytes: 0..=0xEF mean 1..=240 bytes, 0xF0.. mean
    /// 256 << (b - 0xF0) bytes. No sizes: one read.
    pub fn read(input: &mut Input<'_>) -> Self {
        let count = input.byte() & 7;
        let sizes = (0..count).map(|_| size(input.byte())).collect();
        Self { sizes, next: 0 }
    }

    /// One read of everything.
    pub fn whole() -> Self {
        Self { sizes: Vec::new(), next: 0 }
    }

    /// Cuts `bytes` into reads, continuing the cycle of sizes from the previous call. An empty
    /// stream is no read at all.
    pub fn cut<'b>(&mut self, mut bytes: &'b [u8]) -> Vec<&'b [u8]> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let n = match self.sizes.get(self.next) {
                Some(&n) => n.min(bytes.len()),
                None => bytes.len(),
            };
            self.next = (self.next + 1) % self.sizes.len().max(1);
            let (head, tail) = bytes.split_at(n);
            out.push(head);
            bytes = tail;
        }
        out
    }
}

/// A read size from one byte: mostly small, sometimes large.
pub fn size(b: u8) -> usize {
    match b {
        0..=0xEF => usize::from(b) + 1,
        _ => 256 << (b - 0xF0),
    }
}
