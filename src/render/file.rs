//! The bytes of the PDF file: the finished lopdf document serialised once, its streams as
//! objects of their own, every other object packed into compressed object streams, and a
//! cross-reference stream (PDF 1.5, allowed by PDF/A-2).
//!
//! lopdf's own `save_with_options` does the same but clones every object into its object
//! streams, serialises each object three times and compresses at level 6: with the structure
//! tree's thousands of small dictionaries that was half of the writing time and, with the
//! clones, the peak of a rendering's memory. Here each object is written once, in id order,
//! and dropped as soon as it is (the structure tree's elements arrive already serialised, see
//! [`Serialised`]); object streams are compressed at level 1, like the content
//! streams (small dictionaries of names and references compress about as well at the fastest
//! level). The bytes depend on the document only.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;

use flate2::{Compress, Compression, FlushCompress, Status};
use lopdf::{Dictionary, Object, StringFormat};

use super::RenderError;

/// Objects per object stream: large enough that the streams' dictionaries and the
/// compressor's start-up cost are a small part of the file, small enough that a reader
/// decompresses little to reach one object.
const PER_OBJECT_STREAM: usize = 200;

/// Where an object is, for the cross-reference stream.
#[derive(Clone, Copy)]
enum Entry {
    Free,
    /// Byte offset of an object written directly.
    Direct(usize),
    /// Object stream number and index in it.
    Packed(u32, u16),
}

/// Objects already serialised (never streams), by object number: the structure tree's
/// elements, written as they are made instead of held as lopdf dictionaries.
pub(crate) type Serialised = BTreeMap<u32, Vec<u8>>;

/// One object to write, in object-number order.
enum Pending {
    Object(Object),
    Bytes(Vec<u8>),
}

/// Serialise `doc` with the objects of `serialised` (both consumed: each object is dropped
/// once written).
pub(crate) fn save(doc: lopdf::Document, serialised: Serialised) -> Result<Vec<u8>, RenderError> {
    let lopdf::Document { version, binary_mark, objects, trailer, .. } = doc;
    if objects.keys().any(|id| id.1 != 0) {
        return Err(RenderError::Pdf("an object has a non-zero generation".into()));
    }
    let max_id = objects.keys().map(|id| id.0).chain(serialised.keys().copied()).max().unwrap_or(0);
    let mut out = Vec::with_capacity(1 << 20);
    out.extend_from_slice(b"%PDF-");
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\n%");
    out.extend_from_slice(&binary_mark);
    out.push(b'\n');

    let mut entries = vec![Entry::Free; max_id as usize + 1];
    let mut next_id = max_id + 1;
    // The object stream being filled: its header (numbers and offsets) and its objects.
    let mut header = Vec::new();
    let mut body = Vec::new();
    let mut packed: Vec<u32> = Vec::new();
    let mut objects = objects.into_iter().map(|((id, _), o)| (id, Pending::Object(o))).peekable();
    let mut serialised = serialised.into_iter().map(|(id, b)| (id, Pending::Bytes(b))).peekable();
    loop {
        let from_serialised = match (objects.peek(), serialised.peek()) {
            (None, None) => break,
            (Some((a, _)), Some((b, _))) => b < a,
            (None, Some(_)) => true,
            (Some(_), None) => false,
        };
        let next = if from_serialised { serialised.next() } else { objects.next() };
        let Some((id, pending)) = next else { break };
        if let Pending::Object(Object::Stream(stream)) = pending {
            entries[id as usize] = Entry::Direct(out.len());
            write_stream(&mut out, id, stream.dict, &stream.content);
            continue;
        }
        uint(&mut header, u64::from(id));
        header.push(b' ');
        uint(&mut header, body.len() as u64);
        header.push(b' ');
        match pending {
            Pending::Object(object) => write_object(&mut body, &object),
            Pending::Bytes(bytes) => body.extend_from_slice(&bytes),
        }
        body.push(b'\n');
        entries[id as usize] = Entry::Packed(next_id, packed.len() as u16);
        packed.push(id);
        if packed.len() == PER_OBJECT_STREAM {
            flush_object_stream(&mut out, &mut entries, next_id, &mut header, &mut body, &mut packed);
            next_id += 1;
        }
    }
    if !packed.is_empty() {
        flush_object_stream(&mut out, &mut entries, next_id, &mut header, &mut body, &mut packed);
        next_id += 1;
    }
    write_xref_stream(&mut out, &entries, next_id, trailer);
    Ok(out)
}

/// The bytes of an object other than a stream, as [`save`] writes them.
pub(crate) fn serialise(object: &Object) -> Vec<u8> {
    let mut out = Vec::new();
    write_object(&mut out, object);
    out
}

/// Flate at level 1: content streams of shaped text and object streams of small
/// dictionaries compress about as well at the fastest level, at a fraction of the time
/// (level 6: 6× the time, ~30 % smaller content streams).
///
/// One compressor per thread, reset for each stream (the same bytes as a new one): a
/// rendering deflates a stream per page, and a compressor's state (window and hash tables,
/// about 300 KB) allocated and freed for each of them left glibc's heap fragmented, the
/// process holding four times the memory the rendering ever used at once (BENCHMARKS.md,
/// renderer 7).
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    thread_local! {
        static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), true));
    }
    COMPRESSOR.with_borrow_mut(|c| {
        c.reset();
        let mut out = Vec::with_capacity(data.len() / 3 + 64);
        loop {
            let read = usize::try_from(c.total_in()).unwrap_or(data.len()).min(data.len());
            match c.compress_vec(&data[read..], &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return out,
                Ok(_) => out.reserve(out.capacity().max(64)),
                // Never for a compressor writing to memory (the encoder before it could not
                // fail either).
                Err(_) => return Vec::new(),
            }
        }
    })
}

fn write_header(out: &mut Vec<u8>, id: u32) {
    uint(out, u64::from(id));
    out.extend_from_slice(b" 0 obj\n");
}

/// Write the object stream `id` holding the objects collected so far, and empty the buffers.
fn flush_object_stream(
    out: &mut Vec<u8>,
    entries: &mut Vec<Entry>,
    id: u32,
    header: &mut Vec<u8>,
    body: &mut Vec<u8>,
    packed: &mut Vec<u32>,
) {
    if entries.len() <= id as usize {
        entries.resize(id as usize + 1, Entry::Free);
    }
    entries[id as usize] = Entry::Direct(out.len());
    let first = header.len();
    header.append(body);
    let content = deflate(header);
    let mut dict = Dictionary::new();
    dict.set("Type", "ObjStm");
    dict.set("N", packed.len() as i64);
    dict.set("First", first as i64);
    dict.set("Filter", "FlateDecode");
    write_stream(out, id, dict, &content);
    header.clear();
    packed.clear();
}

/// Stream object `id`: its dictionary with the content's `Length`, then the content.
fn write_stream(out: &mut Vec<u8>, id: u32, mut dict: Dictionary, content: &[u8]) {
    dict.set("Length", content.len() as i64);
    write_header(out, id);
    write_dictionary(out, &dict);
    out.extend_from_slice(b"stream\n");
    out.extend_from_slice(content);
    out.extend_from_slice(b"\nendstream\nendobj\n");
}

/// The cross-reference stream (object `id`, the last), with the trailer's entries, and
/// `startxref`. Fields are 1, 4 and 2 bytes wide.
fn write_xref_stream(out: &mut Vec<u8>, entries: &[Entry], id: u32, trailer: Dictionary) {
    let start = out.len();
    let size = id as usize + 1;
    let mut table = Vec::with_capacity(size * 7);
    let mut row = |kind: u8, field: u32, index: u16| {
        table.push(kind);
        table.extend_from_slice(&field.to_be_bytes());
        table.extend_from_slice(&index.to_be_bytes());
    };
    for (number, entry) in entries.iter().enumerate() {
        match *entry {
            Entry::Free if number == 0 => row(0, 0, 0xFFFF),
            Entry::Free => row(0, 0, 0),
            Entry::Direct(offset) => row(1, offset as u32, 0),
            Entry::Packed(stream, index) => row(2, stream, index),
        }
    }
    row(1, start as u32, 0);
    let content = deflate(&table);
    let mut dict = Dictionary::new();
    dict.set("Type", "XRef");
    dict.set("Size", size as i64);
    dict.set("W", Object::Array(vec![1.into(), 4.into(), 2.into()]));
    for key in [b"Root".as_slice(), b"Info", b"ID"] {
        if let Ok(value) = trailer.get(key) {
            dict.set(key, value.clone());
        }
    }
    dict.set("Filter", "FlateDecode");
    write_stream(out, id, dict, &content);
    out.extend_from_slice(b"startxref\n");
    uint(out, start as u64);
    out.extend_from_slice(b"\n%%EOF");
}

/// Whether an object's first byte is a regular character, so a space must part it from a
/// name or number before it.
fn needs_space(object: &Object) -> bool {
    matches!(object, Object::Null | Object::Boolean(_) | Object::Integer(_) | Object::Real(_) | Object::Reference(_))
}

fn write_object(out: &mut Vec<u8>, object: &Object) {
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(true) => out.extend_from_slice(b"true"),
        Object::Boolean(false) => out.extend_from_slice(b"false"),
        Object::Integer(n) => int(out, *n),
        Object::Real(r) => real(out, *r),
        Object::Name(name) => write_name(out, name),
        Object::String(text, StringFormat::Literal) => {
            out.push(b'(');
            for &b in text {
                match b {
                    b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
            out.push(b')');
        }
        Object::String(text, StringFormat::Hexadecimal) => {
            const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
            out.push(b'<');
            for &b in text {
                out.extend_from_slice(&[DIGITS[(b >> 4) as usize], DIGITS[(b & 15) as usize]]);
            }
            out.push(b'>');
        }
        Object::Array(items) => {
            out.push(b'[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 && needs_space(item) {
                    out.push(b' ');
                }
                write_object(out, item);
            }
            out.push(b']');
        }
        Object::Dictionary(dict) => write_dictionary(out, dict),
        // Streams are objects of their own (`save`); one inside another object is no PDF.
        Object::Stream(stream) => write_dictionary(out, &stream.dict),
        Object::Reference((id, generation)) => {
            uint(out, u64::from(*id));
            out.push(b' ');
            uint(out, u64::from(*generation));
            out.extend_from_slice(b" R");
        }
    }
}

fn write_dictionary(out: &mut Vec<u8>, dict: &Dictionary) {
    out.extend_from_slice(b"<<");
    for (key, value) in dict {
        write_name(out, key);
        if needs_space(value) {
            out.push(b' ');
        }
        write_object(out, value);
    }
    out.extend_from_slice(b">>");
}

/// A name, with white-space, delimiters, `#` and bytes outside `!`..`~` as `#XX`.
fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.push(b'/');
    for &b in name {
        if b" \t\n\r\x0C()<>[]{}/%#".contains(&b) || !(33..=126).contains(&b) {
            out.extend_from_slice(&[b'#', DIGITS[(b >> 4) as usize], DIGITS[(b & 15) as usize]]);
        } else {
            out.push(b);
        }
    }
}

fn int(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    uint(out, n.unsigned_abs());
}

fn uint(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// A real as Rust prints an `f32` (shortest round trip, never an exponent).
fn real(out: &mut Vec<u8>, r: f32) {
    let r = if r.is_finite() { r } else { 0.0 };
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{r}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_read_back_from_object_streams() {
        let mut doc = lopdf::Document::with_version("1.7");
        let mut ids = Vec::new();
        for k in 0..450i64 {
            let mut d = Dictionary::new();
            d.set("Type", "StructElem");
            d.set("K", k);
            d.set("Alt", Object::string_literal("a (nested) \\ text\r"));
            d.set("R", Object::Real(841.89));
            d.set("N", Object::Name(b"with space".to_vec()));
            ids.push(doc.add_object(d));
        }
        let stream = doc.add_object(lopdf::Stream::new(Dictionary::new(), b"0 J\n".to_vec()));
        let mut catalog = Dictionary::new();
        catalog.set("Type", "Catalog");
        catalog.set("Kids", Object::Array(ids.iter().map(|&id| id.into()).collect()));
        catalog.set("Contents", stream);
        let root = doc.add_object(catalog);
        doc.trailer.set("Root", root);
        let expected = doc.objects.clone();

        let bytes = save(doc, Serialised::new()).expect("saves");
        assert!(bytes.starts_with(b"%PDF-1.7\n%"));
        let read = lopdf::Document::load_mem(&bytes).expect("the written file parses").objects;
        for (id, object) in &expected {
            let got = read.get(id).unwrap_or_else(|| panic!("object {id:?} is missing"));
            match (object, got) {
                (Object::Stream(a), Object::Stream(b)) => assert_eq!(a.content, b.content),
                _ => assert_eq!(object, got, "object {id:?}"),
            }
        }
    }
}
