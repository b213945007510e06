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

fn curve_tag() -> Vec<u8> {
    // A single gamma of 2.2 (u8Fixed8): close to the sRGB curve and universally read.
    let mut t = b"curv\0\0\0\0".to_vec();
    t.extend(1u32.to_be_bytes());
    t.extend(0x0233u16.to_be_bytes());
    t
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
