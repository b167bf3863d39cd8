//! Colour JPEGs decoded through zune-jpeg directly: the decoder `image` uses, called with the
//! options `image` gives it, so the pixels are the same, but into a buffer the caller keeps and
//! with the vendored region hint (`vendor/zune-jpeg/PATCHES.md`), which stops decoding below a
//! crop box and skips the inverse DCT of blocks away from it.

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::normalize::NormalizeError;

/// Largest decoded image (bytes) taken here; larger ones go through `image`, which applies its
/// own allocation limit (512 MiB) and reports them.
const MAX_PIXEL_BYTES: usize = 512 << 20;

/// A JPEG whose headers say it decodes to RGB in `image` (YCbCr or RGB components), ready to
/// decode.
pub(crate) struct ColourJpeg<'a> {
    decoder: JpegDecoder<ZCursor<&'a [u8]>>,
    width: u32,
    height: u32,
}

impl<'a> ColourJpeg<'a> {
    /// Reads the headers of `bytes`. `None` for anything else: not a JPEG, unreadable headers,
    /// grey, CMYK or YCCK components, or too large; those take the general road (`image`), which
    /// reports the errors.
    pub(crate) fn open(bytes: &'a [u8]) -> Option<Self> {
        if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return None;
        }
        // The options of `image`'s JPEG decoder (image 0.25, codecs/jpeg/decoder.rs).
        let options = DecoderOptions::default()
            .set_strict_mode(false)
            .set_max_width(usize::MAX)
            .set_max_height(usize::MAX);
        let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
        decoder.decode_headers().ok()?;
        if !matches!(decoder.input_colorspace()?, ColorSpace::YCbCr | ColorSpace::RGB) {
            return None;
        }
        decoder.set_options(decoder.options().jpeg_set_out_colorspace(ColorSpace::RGB));
        let (w, h) = decoder.dimensions()?;
        if w.checked_mul(h)?.checked_mul(3)? > MAX_PIXEL_BYTES {
            return None;
        }
        Some(Self { decoder, width: u32::try_from(w).ok()?, height: u32::try_from(h).ok()? })
    }

    /// Width and height in pixels.
    pub(crate) fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Decodes into `buf` (grown as needed, never shrunk) as RGB rows of the full width. Only the
    /// `[left, top, width, height]` region is defined afterwards: it holds exactly the bytes of a
    /// full decode into a zeroed buffer, which is what `image` does (pixels the decoder never
    /// reaches stay zero).
    pub(crate) fn decode(mut self, region: [u32; 4], buf: &mut Vec<u8>) -> Result<(), NormalizeError> {
        let [l, t, w, h] = region.map(|v| v as usize);
        if region != [0, 0, self.width, self.height] {
            self.decoder.set_region_hint(l, t, l + w, t + h);
        }
        let len = self
            .decoder
            .output_buffer_size()
            .ok_or_else(|| NormalizeError::Decode("JPEG output size unknown".into()))?;
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let out = &mut buf[..len];
        // A damaged stream can end the decode early without writing every pixel: `image` would
        // leave zeros there, so the region's pixels start as zeros here too.
        let stride = self.width as usize * 3;
        for row in out[t * stride..(t + h) * stride].chunks_exact_mut(stride) {
            row[l * 3..(l + w) * 3].fill(0);
        }
        self.decoder.decode_into(out).map_err(|e| NormalizeError::Decode(e.to_string()))
    }
}
