//! Per-block CRC32C of a chunk: what lets a read check every block before sending it.
//!
//! A chunk is checked in blocks of [`BLOCK_SIZE`] bytes (the last one shorter), one
//! CRC32C each, kept in PostgreSQL beside the chunk's row (4 bytes per block: 128 bytes
//! for an 8 MiB chunk), never in the file: chunk files stay the object's raw bytes, so a
//! range maps to an offset, and the checksums survive the loss of the disk. CRC32C is
//! hardware-accelerated, catches the random media errors scrubbing is for (BlueStore's
//! default too), and is the checksum S3 clients already send.

/// Bytes per checked block; also the size of every read.
pub const BLOCK_SIZE: usize = 256 << 10;

/// The block layout and checksums of one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockCrcs {
    /// Bytes per block (the chunk's size for chunks stored before blocks existed).
    pub block_size: u32,
    /// One CRC32C per block, in order.
    pub crcs: Vec<u32>,
}

impl BlockCrcs {
    /// Decodes the stored form (big-endian u32s).
    pub fn decode(block_size: i32, bytes: &[u8]) -> Option<Self> {
        if block_size <= 0 || !bytes.len().is_multiple_of(4) {
            return None;
        }
        Some(BlockCrcs {
            block_size: block_size as u32,
            crcs: bytes
                .chunks_exact(4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        })
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        self.crcs.iter().flat_map(|c| c.to_be_bytes()).collect()
    }

    /// Whether the layout fits a chunk of `size` bytes.
    pub fn fits(&self, size: u64) -> bool {
        let expected = size.div_ceil(u64::from(self.block_size)).max(1);
        self.crcs.len() as u64 == expected
    }

    /// Byte range `[start, end)` of block `index` in a chunk of `size` bytes.
    pub fn range(&self, index: usize, size: u64) -> (u64, u64) {
        let start = index as u64 * u64::from(self.block_size);
        (start, (start + u64::from(self.block_size)).min(size))
    }

    /// The blocks that hold bytes `[from, to)`.
    pub fn covering(&self, from: u64, to: u64) -> std::ops::Range<usize> {
        let bs = u64::from(self.block_size);
        (from / bs) as usize..to.div_ceil(bs) as usize
    }

    /// Whether `data` is block `index`.
    pub fn check(&self, index: usize, data: &[u8]) -> bool {
        self.crcs
            .get(index)
            .is_some_and(|&crc| crc32c::crc32c(data) == crc)
    }
}

/// Computes block CRCs as bytes stream past, in pieces of any size.
#[derive(Debug, Clone)]
pub struct BlockHasher {
    block_size: usize,
    crcs: Vec<u32>,
    current: u32,
    in_block: usize,
}

impl BlockHasher {
    /// A hasher for blocks of `block_size` bytes.
    pub fn new(block_size: usize) -> Self {
        BlockHasher {
            block_size: block_size.max(1),
            crcs: Vec::new(),
            current: 0,
            in_block: 0,
        }
    }

    /// Adds bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (self.block_size - self.in_block).min(data.len());
            self.current = crc32c::crc32c_append(self.current, &data[..take]);
            self.in_block += take;
            data = &data[take..];
            if self.in_block == self.block_size {
                self.crcs.push(self.current);
                self.current = 0;
                self.in_block = 0;
            }
        }
    }

    /// The checksums of everything added (an empty chunk is one empty block).
    pub fn finish(mut self) -> BlockCrcs {
        if self.in_block > 0 || self.crcs.is_empty() {
            self.crcs.push(self.current);
        }
        BlockCrcs {
            block_size: self.block_size as u32,
            crcs: self.crcs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_of_any_size_give_the_same_blocks() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut whole = BlockHasher::new(4096);
        whole.update(&data);
        let whole = whole.finish();
        for piece in [1, 7, 4096, 5000] {
            let mut h = BlockHasher::new(4096);
            for p in data.chunks(piece) {
                h.update(p);
            }
            assert_eq!(h.finish(), whole, "pieces of {piece}");
        }
        assert_eq!(whole.crcs.len(), 3);
        assert!(whole.fits(10_000));
        assert_eq!(whole.crcs[2], crc32c::crc32c(&data[8192..]));
        assert!(whole.check(1, &data[4096..8192]));
        assert!(!whole.check(1, &data[4095..8191]));
    }

    #[test]
    fn stored_form_round_trips() {
        let b = BlockCrcs {
            block_size: BLOCK_SIZE as u32,
            crcs: vec![1, 0xdead_beef, u32::MAX],
        };
        assert_eq!(BlockCrcs::decode(b.block_size as i32, &b.encode()), Some(b));
        assert_eq!(BlockCrcs::decode(0, &[]), None);
        assert_eq!(BlockCrcs::decode(4, &[1, 2, 3]), None);
    }

    #[test]
    fn ranges_map_to_blocks() {
        let b = BlockCrcs {
            block_size: 10,
            crcs: vec![0; 3],
        };
        assert_eq!(b.range(2, 25), (20, 25));
        assert_eq!(b.covering(0, 25), 0..3);
        assert_eq!(b.covering(12, 15), 1..2);
        assert_eq!(b.covering(9, 11), 0..2);
        assert_eq!(b.covering(20, 25), 2..3);
    }

    #[test]
    fn an_empty_chunk_is_one_empty_block() {
        let b = BlockHasher::new(8).finish();
        assert_eq!(b.crcs, vec![0]);
        assert!(b.fits(0));
    }
}
