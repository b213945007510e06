//! A minimal sRGB ICC profile (version 2, matrix/TRC), generated rather than
//! shipped so no third-party profile licence is involved. It backs the PDF/A
//! output intent that declares the DeviceRGB colours of the document to be sRGB.

/// sRGB primaries adapted to D50, as in the ICC's published sRGB profiles.
const RED: [f64; 3] = [0.4361, 0.2225, 0.0139];
const GREEN: [f64; 3] = [0.3851, 0.7169, 0.0971];
const BLUE: [f64; 3] = [0.1431, 0.0606, 0.7141];
const WHITE_D50: [f64; 3] = [0.9642, 1.0, 0.8249];

fn s15f16(v: f64) -> [u8; 4] {
    ((v * 65536.0).round() as i32).to_be_bytes()
}

fn xyz_tag(v: [f64; 3]) -> Vec<u8> {
    let mut t = b"XYZ \0\0\0\0".to_vec();
    for c in v {
        t.extend(s15f16(c));
    }
    t
}

fn desc_tag(text: &str) -> Vec<u8> {
    let mut t = b"desc\0\0\0\0".to_vec();
    t.extend(((text.len() + 1) as u32).to_be_bytes());
    t.extend(text.as_bytes());
    t.push(0);
    // Unicode language and count, ScriptCode code and count, 67 bytes of ScriptCode.
    t.extend([0u8; 4 + 4 + 2 + 1 + 67]);
    t
}

fn text_tag(text: &str) -> Vec<u8> {
    let mut t = b"text\0\0\0\0".to_vec();
    t.extend(text.as_bytes());
    t.push(0);
    t
}

/// Entries of the tone curve: as many as the ICC's own sRGB v2 profiles sample.
const CURVE_POINTS: u32 = 1024;

/// The sRGB tone curve of IEC 61966-2.1 (a linear segment near black, then a 2.4 power),
/// sampled: a version 2 profile has no parametric curves, and a single gamma of 2.2 is
/// what a strict validator would call another colour space.
fn curve_tag() -> Vec<u8> {
    let mut t = b"curv\0\0\0\0".to_vec();
    t.extend(CURVE_POINTS.to_be_bytes());
    for k in 0..CURVE_POINTS {
        t.extend(srgb_sample(k).to_be_bytes());
    }
    t
}

/// Entry `k` of the curve: the linear light of the encoded value `k / (CURVE_POINTS - 1)`,
/// scaled to 16 bits.
fn srgb_sample(k: u32) -> u16 {
    let v = f64::from(k) / f64::from(CURVE_POINTS - 1);
    let linear = if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) };
    (linear * 65535.0).round() as u16
}

/// The profile bytes.
pub(crate) fn srgb_profile() -> Vec<u8> {
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"desc", desc_tag("sRGB IEC61966-2.1 (mmr)")),
        (b"cprt", text_tag("No copyright, use freely")),
        (b"wtpt", xyz_tag(WHITE_D50)),
        (b"rXYZ", xyz_tag(RED)),
        (b"gXYZ", xyz_tag(GREEN)),
        (b"bXYZ", xyz_tag(BLUE)),
        (b"rTRC", curve_tag()),
        (b"gTRC", curve_tag()),
        (b"bTRC", curve_tag()),
    ];
    let table_len = 4 + 12 * tags.len();
    let mut offset = 128 + table_len;
    let mut table = (tags.len() as u32).to_be_bytes().to_vec();
    let mut data = Vec::new();
    for (sig, body) in &tags {
        table.extend(*sig);
        table.extend((offset as u32).to_be_bytes());
        table.extend((body.len() as u32).to_be_bytes());
        let mut padded = body.clone();
        while padded.len() % 4 != 0 {
            padded.push(0);
        }
        offset += padded.len();
        data.extend(padded);
    }
    let size = 128 + table.len() + data.len();
    let mut p = Vec::with_capacity(size);
    p.extend((size as u32).to_be_bytes());
    p.extend([0u8; 4]); // preferred CMM
    p.extend([2, 0x10, 0, 0]); // version 2.1
    p.extend(b"mntr");
    p.extend(b"RGB ");
    p.extend(b"XYZ ");
    for v in [2024u16, 1, 1, 0, 0, 0] {
        p.extend(v.to_be_bytes());
    }
    p.extend(b"acsp");
    p.extend([0u8; 4]); // platform
    p.extend([0u8; 4]); // flags
    p.extend([0u8; 4]); // manufacturer
    p.extend([0u8; 4]); // model
    p.extend([0u8; 8]); // attributes
    p.extend([0u8; 4]); // rendering intent: perceptual
    for c in WHITE_D50 {
        p.extend(s15f16(c));
    }
    p.extend([0u8; 4]); // creator
    p.extend([0u8; 16]); // profile id (v4 only)
    p.extend([0u8; 28]); // reserved
    p.extend(table);
    p.extend(data);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tone_curve_is_the_srgb_one() {
        assert_eq!(srgb_sample(0), 0);
        assert_eq!(srgb_sample(CURVE_POINTS - 1), 65535);
        // Mid grey (encoded 0.5) is 21.4 % linear light in sRGB; a 2.2 gamma would give 21.8 %.
        let mid = f64::from(srgb_sample(CURVE_POINTS / 2)) / 65535.0;
        assert!((mid - 0.2145).abs() < 0.001, "{mid}");
        let profile = srgb_profile();
        assert_eq!(u32::from_be_bytes(profile[..4].try_into().unwrap()) as usize, profile.len());
    }
}
