//! Images referenced by the Markdown, resolved against the attachments only and
//! turned into what a PDF image XObject needs: JPEG passes through untouched
//! (DCTDecode), PNG is decoded and stored losslessly with Flate, its alpha
//! channel as a soft mask. Size and pixel limits are checked before decoding.
//!
//! A CMYK JPEG is the exception: the document's colours are declared sRGB (the
//! PDF/A output intent), which DeviceCMYK samples would break, so it is decoded
//! (zune-jpeg, which reads Adobe's inverted CMYK and YCCK) and stored as sRGB
//! samples with Flate.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use flate2::Compression;
use flate2::write::ZlibEncoder;

use super::tree::Document;
use super::{Attachment, Limits, RenderError, Warning, WarningCode};

/// Colour space of an image's samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColourSpace {
    Gray,
    Rgb,
}

/// The colour components a JPEG's frame header declares: a colour space a PDF shows
/// under the sRGB output intent, or CMYK, which must be converted first.
enum JpegColour {
    Shown(ColourSpace),
    Cmyk,
}

/// Encoded image data ready to become an XObject.
#[derive(Debug, Clone)]
pub(crate) enum Encoded {
    /// A JPEG file, embedded as is.
    Jpeg(Vec<u8>),
    /// 8-bit samples, zlib-compressed, with an optional zlib-compressed alpha mask.
    Flate { data: Vec<u8>, alpha: Option<Vec<u8>> },
}

/// An image ready for layout (size) and for the PDF writer (data).
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub width: u32,
    pub height: u32,
    pub colour: ColourSpace,
    pub encoded: Encoded,
}

/// The images of one rendering, by attachment name.
#[derive(Debug, Default)]
pub(crate) struct Images {
    /// Sorted by name so XObject numbering is deterministic.
    pub by_name: BTreeMap<String, usize>,
    pub list: Vec<Image>,
}

impl Images {
    pub fn get(&self, src: &str) -> Option<(usize, &Image)> {
        let idx = *self.by_name.get(normalise(src))?;
        self.list.get(idx).map(|i| (idx, i))
    }
}

/// Decode every attachment the documents reference. A reference to a missing
/// attachment is a warning (the layout draws a labelled box); a referenced
/// attachment that is too large or unreadable is an error.
pub(crate) fn prepare(
    report: &Document,
    plan: Option<&Document>,
    attachments: &[Attachment],
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Result<Images, RenderError> {
    let mut images = Images::default();
    let refs = report.images().into_iter().chain(plan.into_iter().flat_map(|p| p.images()));
    let mut wanted: Vec<&str> = refs.map(normalise).collect();
    wanted.sort_unstable();
    wanted.dedup();
    for name in wanted {
        let Some(att) = attachments.iter().find(|a| a.name == name) else {
            warnings
                .push(Warning::new(WarningCode::MissingImage, format!("image {name:?} is not among the attachments")));
            continue;
        };
        let image = decode(att, limits)?;
        images.by_name.insert(name.to_string(), images.list.len());
        images.list.push(image);
    }
    Ok(images)
}

/// Image references may carry a `./` or `attachments/` prefix; only the file name
/// is ever looked up.
pub(crate) fn normalise(src: &str) -> &str {
    let s = src.trim();
    s.rsplit('/').next().unwrap_or(s)
}

/// Checks that `att` is an image [`prepare`] would accept, as cheaply as that can be known: the
/// same size, signature and pixel limits, a JPEG's frame header, and a PNG's data decoded row by
/// row and dropped (a damaged stream fails here as it would in the renderer), without keeping the
/// pixels or compressing them again. For the template check.
pub(crate) fn validate(att: &Attachment, limits: &Limits) -> Result<(), RenderError> {
    match format(att, limits)? {
        Format::Png => {
            let bad = |e: png::DecodingError| RenderError::BadImage { name: att.name.clone(), reason: e.to_string() };
            let mut reader = png_reader(att, limits)?;
            png_layout(att, reader.output_color_type().0)?;
            while reader.next_row().map_err(bad)?.is_some() {}
            Ok(())
        }
        Format::Jpeg => match jpeg_frame(att, limits)? {
            (.., JpegColour::Cmyk) => cmyk_jpeg_as_rgb(att, limits).map(drop),
            (.., JpegColour::Shown(_)) => Ok(()),
        },
    }
}

/// The RGB samples of a CMYK JPEG (its pixel count already checked), converted by the decoder.
fn cmyk_jpeg_as_rgb(att: &Attachment, limits: &Limits) -> Result<Vec<u8>, RenderError> {
    use zune_jpeg::JpegDecoder;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let bad = |reason: String| RenderError::BadImage { name: att.name.clone(), reason };
    let side = usize::try_from(limits.max_image_pixels).unwrap_or(usize::MAX).min(u16::MAX as usize);
    let options =
        DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB).set_max_width(side).set_max_height(side);
    let mut decoder = JpegDecoder::new_with_options(&att.bytes[..], options);
    let rgb = decoder.decode().map_err(|e| bad(format!("CMYK JPEG: {e:?}")))?;
    let (width, height) = decoder.dimensions().unwrap_or_default();
    if rgb.len() != width * height * 3 {
        return Err(bad("CMYK JPEG: decoded samples do not fill the frame".to_string()));
    }
    Ok(rgb)
}

/// The two formats an attachment can have.
enum Format {
    Png,
    Jpeg,
}

/// The attachment's format, once its size is within `max_image_bytes`.
fn format(att: &Attachment, limits: &Limits) -> Result<Format, RenderError> {
    if att.bytes.len() > limits.max_image_bytes {
        return Err(RenderError::ImageTooLarge {
            name: att.name.clone(),
            detail: format!(
                "{} bytes, above the limit of {} bytes (max_image_bytes)",
                att.bytes.len(),
                limits.max_image_bytes
            ),
        });
    }
    if att.bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        Ok(Format::Png)
    } else if att.bytes.starts_with(&[0xFF, 0xD8]) {
        Ok(Format::Jpeg)
    } else {
        Err(RenderError::BadImage { name: att.name.clone(), reason: "neither a PNG nor a JPEG signature".to_string() })
    }
}

fn decode(att: &Attachment, limits: &Limits) -> Result<Image, RenderError> {
    match format(att, limits)? {
        Format::Png => decode_png(att, limits),
        Format::Jpeg => match jpeg_frame(att, limits)? {
            (width, height, JpegColour::Cmyk) => {
                let data = zlib(&cmyk_jpeg_as_rgb(att, limits)?);
                Ok(Image { width, height, colour: ColourSpace::Rgb, encoded: Encoded::Flate { data, alpha: None } })
            }
            (width, height, JpegColour::Shown(colour)) => {
                Ok(Image { width, height, colour, encoded: Encoded::Jpeg(att.bytes.clone()) })
            }
        },
    }
}

fn check_pixels(name: &str, width: u32, height: u32, limits: &Limits) -> Result<(), RenderError> {
    let pixels = width as u64 * height as u64;
    if pixels > limits.max_image_pixels {
        return Err(RenderError::ImageTooLarge {
            name: name.to_string(),
            detail: format!(
                "{width}x{height} = {pixels} pixels, above the limit of {} pixels (max_image_pixels)",
                limits.max_image_pixels
            ),
        });
    }
    if width == 0 || height == 0 {
        return Err(RenderError::BadImage { name: name.to_string(), reason: "zero width or height".to_string() });
    }
    Ok(())
}

/// A PNG reader past the header, its pixel count checked, set to give 8-bit samples without a
/// palette.
fn png_reader<'a>(att: &'a Attachment, limits: &Limits) -> Result<png::Reader<Cursor<&'a [u8]>>, RenderError> {
    let bad = |e: png::DecodingError| RenderError::BadImage { name: att.name.clone(), reason: e.to_string() };
    // The decoder's own allocation cap follows the pixel limit (4 bytes a pixel
    // plus slack), so a lying header cannot make it allocate more.
    let cap = (limits.max_image_pixels.saturating_mul(8) as usize).max(1 << 20);
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(&att.bytes[..]), png::Limits { bytes: cap });
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let reader = decoder.read_info().map_err(bad)?;
    let (width, height) = reader.info().size();
    check_pixels(&att.name, width, height, limits)?;
    Ok(reader)
}

/// The colour space, samples per pixel and whether the last one is alpha, of decoded PNG rows.
fn png_layout(att: &Attachment, colour: png::ColorType) -> Result<(ColourSpace, usize, bool), RenderError> {
    Ok(match colour {
        png::ColorType::Grayscale => (ColourSpace::Gray, 1, false),
        png::ColorType::GrayscaleAlpha => (ColourSpace::Gray, 2, true),
        png::ColorType::Rgb => (ColourSpace::Rgb, 3, false),
        png::ColorType::Rgba => (ColourSpace::Rgb, 4, true),
        png::ColorType::Indexed => {
            return Err(RenderError::BadImage {
                name: att.name.clone(),
                reason: "palette image was not expanded".to_string(),
            });
        }
    })
}

fn decode_png(att: &Attachment, limits: &Limits) -> Result<Image, RenderError> {
    let bad = |e: png::DecodingError| RenderError::BadImage { name: att.name.clone(), reason: e.to_string() };
    let mut reader = png_reader(att, limits)?;
    let (width, height) = reader.info().size();
    let size = reader.output_buffer_size().ok_or_else(|| RenderError::BadImage {
        name: att.name.clone(),
        reason: "image dimensions overflow".to_string(),
    })?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(bad)?;
    buf.truncate(frame.buffer_size());
    let (colour, channels, has_alpha) = png_layout(att, frame.color_type)?;
    let pixels = width as usize * height as usize;
    let (data, alpha) = if has_alpha {
        let colour_channels = channels - 1;
        let mut samples = Vec::with_capacity(pixels * colour_channels);
        let mut mask = Vec::with_capacity(pixels);
        for px in buf.chunks_exact(channels) {
            samples.extend_from_slice(&px[..colour_channels]);
            mask.push(px[colour_channels]);
        }
        // A fully opaque alpha channel needs no mask.
        let alpha = if mask.iter().all(|&a| a == 255) { None } else { Some(zlib(&mask)) };
        (zlib(&samples), alpha)
    } else {
        (zlib(&buf), None)
    };
    Ok(Image { width, height, colour, encoded: Encoded::Flate { data, alpha } })
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::with_capacity(bytes.len() / 2 + 64), Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Read width, height and components from the first SOF marker, checking the pixel limit; the
/// data itself is embedded unchanged unless it is CMYK.
fn jpeg_frame(att: &Attachment, limits: &Limits) -> Result<(u32, u32, JpegColour), RenderError> {
    let bad = |reason: &str| RenderError::BadImage { name: att.name.clone(), reason: reason.to_string() };
    let b = &att.bytes;
    let mut i = 2;
    loop {
        // Skip fill bytes between markers.
        while b.get(i) == Some(&0xFF) && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if b.get(i) != Some(&0xFF) {
            return Err(bad("no frame header before the end of the markers"));
        }
        let marker = *b.get(i + 1).ok_or_else(|| bad("truncated marker"))?;
        if marker == 0xD9 || marker == 0xDA {
            return Err(bad("no frame header before the image data"));
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            i += 2;
            continue;
        }
        let len = u16::from_be_bytes([
            *b.get(i + 2).ok_or_else(|| bad("truncated segment"))?,
            *b.get(i + 3).ok_or_else(|| bad("truncated segment"))?,
        ]) as usize;
        if len < 2 {
            return Err(bad("invalid segment length"));
        }
        let is_sof = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if is_sof {
            let seg = b.get(i + 4..i + 2 + len).ok_or_else(|| bad("truncated frame header"))?;
            if seg.len() < 6 {
                return Err(bad("short frame header"));
            }
            if seg[0] != 8 {
                return Err(bad("only 8-bit JPEG samples are supported"));
            }
            let height = u16::from_be_bytes([seg[1], seg[2]]) as u32;
            let width = u16::from_be_bytes([seg[3], seg[4]]) as u32;
            let colour = match seg[5] {
                1 => JpegColour::Shown(ColourSpace::Gray),
                3 => JpegColour::Shown(ColourSpace::Rgb),
                4 => JpegColour::Cmyk,
                _ => return Err(bad("unsupported number of colour components")),
            };
            check_pixels(&att.name, width, height, limits)?;
            return Ok((width, height, colour));
        }
        i += 2 + len;
    }
}
