//! PNG encoding of the stored images: 8-bit RGB, the Sub filter on every row, fdeflate's fast
//! compression, one IDAT chunk. These are the bytes `image`'s `PngEncoder` (png 0.18,
//! `CompressionType::Fast`, `FilterType::Sub`) writes, which the shards were first made with (the
//! tests below compare the two), written without its intermediate buffers: the compressor appends
//! to the output directly, where png's wrote eight bytes at a time through a `Cursor` and then
//! copied the whole stream into the chunk.

use std::io::{self, Cursor};

/// The PNG signature.
const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
/// Largest IDAT chunk png 0.18 writes; longer streams are split.
const MAX_IDAT: usize = (u32::MAX >> 1) as usize;
/// Filter type byte of the Sub filter.
const SUB: u8 = 1;

/// Encodes `width`×`height` RGB8 pixels (rows of `width * 3` bytes).
pub(crate) fn encode_rgb8(pixels: &[u8], width: u32, height: u32) -> io::Result<Vec<u8>> {
    let row_len = width as usize * 3;
    if pixels.len() != row_len * height as usize || row_len == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "pixel buffer does not match the size"));
    }
    let mut out = Vec::with_capacity(pixels.len() + pixels.len() / 8 + 128);
    out.extend_from_slice(&SIGNATURE);
    let mut header = [0u8; 13];
    header[..4].copy_from_slice(&width.to_be_bytes());
    header[4..8].copy_from_slice(&height.to_be_bytes());
    header[8..].copy_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, adaptive filters, not interlaced
    chunk(&mut out, b"IHDR", &header);

    // The IDAT chunk's length and type, then the zlib stream appended in place.
    let at = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(b"IDAT");
    let mut compressor = fdeflate::Compressor::new(out)?;
    let mut filtered = vec![0u8; row_len + 1];
    filtered[0] = SUB;
    for row in pixels.chunks_exact(row_len) {
        let (head, tail) = filtered[1..].split_at_mut(3);
        head.copy_from_slice(&row[..3]);
        for ((f, &v), &left) in tail.iter_mut().zip(&row[3..]).zip(row) {
            *f = v.wrapping_sub(left);
        }
        compressor.write_data(&filtered)?;
    }
    let mut out = compressor.finish()?;
    let len = out.len() - at - 8;
    let stored = fdeflate::StoredOnlyCompressor::<()>::compressed_size((row_len + 1) * height as usize);
    if len <= MAX_IDAT && len <= stored {
        out[at..at + 4].copy_from_slice(&(len as u32).to_be_bytes());
        let crc = crc32fast::hash(&out[at + 4..]);
        out.extend_from_slice(&crc.to_be_bytes());
    } else {
        // What png does then: unfiltered rows in stored blocks when compressing made the stream
        // longer, and the stream split into chunks of at most `MAX_IDAT` bytes.
        let zlib = if len > stored { stored_rows(pixels, row_len)? } else { out[at + 8..].to_vec() };
        out.truncate(at);
        for part in zlib.chunks(MAX_IDAT) {
            chunk(&mut out, b"IDAT", part);
        }
    }
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

/// A zlib stream of stored blocks holding each row after a filter byte of 0 (none).
fn stored_rows(pixels: &[u8], row_len: usize) -> io::Result<Vec<u8>> {
    let mut compressor = fdeflate::StoredOnlyCompressor::new(Cursor::new(Vec::new()))?;
    for row in pixels.chunks_exact(row_len) {
        compressor.write_data(&[0])?;
        compressor.write_data(row)?;
    }
    Ok(compressor.finish()?.into_inner())
}

/// Appends a chunk: length, type, data, CRC of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_schema::rng::SeedRng;
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};

    fn reference(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
        let mut png = Vec::new();
        PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Sub)
            .write_image(pixels, width, height, image::ExtendedColorType::Rgb8)
            .expect("png");
        png
    }

    #[test]
    fn same_bytes_as_image_png_encoder() {
        let mut rng = SeedRng::new(3);
        let mut fell_back = 0;
        for (w, h) in [(112, 112), (1, 1), (3, 1), (1, 7), (100, 100), (57, 13), (640, 2), (24, 24)] {
            // Smooth (compresses), flat, and noise (stored blocks are shorter).
            let smooth: Vec<u8> =
                (0..w * h * 3).map(|i| ((i / 3) % w * 2 + i % 3 * 40 + (i / (w * 3)) * 3) as u8).collect();
            let flat = vec![77u8; (w * h * 3) as usize];
            let noise: Vec<u8> = (0..w * h * 3).map(|_| rng.below(256) as u8).collect();
            for (what, px) in [("smooth", smooth), ("flat", flat), ("noise", noise)] {
                let ours = encode_rgb8(&px, w, h).expect("encode");
                let theirs = reference(&px, w, h);
                assert!(ours == theirs, "{what} {w}x{h}: {} bytes, PngEncoder {}", ours.len(), theirs.len());
                let back = image::load_from_memory(&ours).expect("decodes").into_rgb8();
                assert_eq!(back.as_raw(), &px, "{what} {w}x{h} round trip");
                // A stored stream has no compressed blocks: its first block header byte is 1.
                fell_back +=
                    usize::from(ours.windows(4).position(|c| c == b"IDAT").map(|i| ours[i + 6]) == Some(1));
            }
        }
        assert!(fell_back > 0, "the noise images take the stored-block road");
        assert!(encode_rgb8(&[0; 5], 2, 1).is_err());
    }
}
