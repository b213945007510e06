//! The records of a ZIP file (APPNOTE 6.3.x) whose members are stored, not compressed, written
//! front to back without seeking: each member's local header carries its CRC-32 and sizes (no data
//! descriptors, so streaming readers handle it too), then the central directory and the end
//! record. The caller keeps the whole file under 4 GiB and 65,535 members, so no ZIP64 record is
//! ever needed; [`Layout`] refuses anything larger. Names are ASCII, times are DOS times.

use chrono::{Datelike, NaiveDateTime, Timelike};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const LOCAL_HEADER_LEN: u64 = 30;
const CENTRAL_HEADER_LEN: u64 = 46;
const END_LEN: u64 = 22;
/// Version 1.0 of the format suffices for stored members.
const VERSION_NEEDED: u16 = 10;
/// Made by a Unix system (high byte 3), format 3.0, so readers honour the permissions.
const VERSION_MADE_BY: u16 = (3 << 8) | 30;
/// A regular file, `rw-r--r--`.
const UNIX_FILE_MODE: u32 = 0o100_644;

/// A member as the directory records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub size: u32,
    pub crc32: u32,
    pub modified: NaiveDateTime,
    /// Where its local header starts.
    pub offset: u32,
}

/// The sizes of a ZIP file to be written, known before any byte of it: the total is sent as
/// `Content-Length`, and each member's offset is fixed in advance.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    members: u64,
    local_part: u64,
    central_part: u64,
}

impl Layout {
    /// Counts a member named `name` of `size` bytes; `None` past the format's 32-bit bounds.
    pub fn add(&mut self, name: &str, size: u64) -> Option<u32> {
        let offset = u32::try_from(self.local_part).ok()?;
        self.members += 1;
        self.local_part += LOCAL_HEADER_LEN + name.len() as u64 + size;
        self.central_part += CENTRAL_HEADER_LEN + name.len() as u64;
        let fits = self.members <= u64::from(u16::MAX)
            && u32::try_from(self.local_part).is_ok()
            && u32::try_from(self.central_part).is_ok()
            && u16::try_from(name.len()).is_ok();
        fits.then_some(offset)
    }

    /// The whole file's length.
    pub fn len(&self) -> u64 {
        self.local_part + self.central_part + END_LEN
    }
}

/// A member's local header; `member.name` must be ASCII and the sizes within [`Layout`]'s bounds.
pub fn local_header(member: &Member) -> Vec<u8> {
    let (time, date) = dos_time(member.modified);
    let mut out = Vec::with_capacity(LOCAL_HEADER_LEN as usize + member.name.len());
    out.extend(LOCAL_HEADER.to_le_bytes());
    out.extend(VERSION_NEEDED.to_le_bytes());
    out.extend(0u16.to_le_bytes()); // flags
    out.extend(0u16.to_le_bytes()); // method: stored
    out.extend(time.to_le_bytes());
    out.extend(date.to_le_bytes());
    out.extend(member.crc32.to_le_bytes());
    out.extend(member.size.to_le_bytes()); // compressed size
    out.extend(member.size.to_le_bytes()); // uncompressed size
    out.extend(name_len(&member.name).to_le_bytes());
    out.extend(0u16.to_le_bytes()); // extra field length
    out.extend(member.name.as_bytes());
    out
}

/// The central directory and the end record, for `members` in the order they were written.
pub fn directory(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    let start = members.last().map_or(0, |m| m.offset as u64 + LOCAL_HEADER_LEN + m.name.len() as u64 + m.size as u64);
    for m in members {
        let (time, date) = dos_time(m.modified);
        out.extend(CENTRAL_HEADER.to_le_bytes());
        out.extend(VERSION_MADE_BY.to_le_bytes());
        out.extend(VERSION_NEEDED.to_le_bytes());
        out.extend(0u16.to_le_bytes()); // flags
        out.extend(0u16.to_le_bytes()); // method: stored
        out.extend(time.to_le_bytes());
        out.extend(date.to_le_bytes());
        out.extend(m.crc32.to_le_bytes());
        out.extend(m.size.to_le_bytes());
        out.extend(m.size.to_le_bytes());
        out.extend(name_len(&m.name).to_le_bytes());
        out.extend(0u16.to_le_bytes()); // extra field length
        out.extend(0u16.to_le_bytes()); // comment length
        out.extend(0u16.to_le_bytes()); // disk number
        out.extend(0u16.to_le_bytes()); // internal attributes
        out.extend((UNIX_FILE_MODE << 16).to_le_bytes());
        out.extend(m.offset.to_le_bytes());
        out.extend(m.name.as_bytes());
    }
    let count = u16::try_from(members.len()).unwrap_or(u16::MAX);
    let size = u32::try_from(out.len()).unwrap_or(u32::MAX);
    out.extend(END_OF_CENTRAL_DIRECTORY.to_le_bytes());
    out.extend(0u16.to_le_bytes()); // this disk
    out.extend(0u16.to_le_bytes()); // disk with the directory
    out.extend(count.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend(size.to_le_bytes());
    out.extend(u32::try_from(start).unwrap_or(u32::MAX).to_le_bytes());
    out.extend(0u16.to_le_bytes()); // comment length
    out
}

fn name_len(name: &str) -> u16 {
    u16::try_from(name.len()).unwrap_or(u16::MAX)
}

/// MS-DOS time and date (two-second resolution, 1980 to 2107), clamped into that range.
fn dos_time(t: NaiveDateTime) -> (u16, u16) {
    let year = t.year().clamp(1980, 2107);
    let time = (t.hour() << 11) | (t.minute() << 5) | (t.second() / 2);
    let date = (((year - 1980) as u32) << 9) | (t.month() << 5) | t.day();
    (time as u16, date as u16)
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use chrono::NaiveDate;

    use super::*;

    fn at() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap().and_hms_opt(9, 30, 17).unwrap()
    }

    /// Writes `files` as the streaming writer does: layout first, then headers and data.
    fn write(files: &[(&str, &[u8])]) -> (Vec<u8>, u64) {
        let mut layout = Layout::default();
        let mut members = Vec::new();
        for (name, data) in files {
            let offset = layout.add(name, data.len() as u64).unwrap();
            let crc32 = crc32fast::hash(data);
            members.push(Member { name: (*name).into(), size: data.len() as u32, crc32, modified: at(), offset });
        }
        let mut out = Vec::new();
        for (m, (_, data)) in members.iter().zip(files) {
            assert_eq!(out.len() as u32, m.offset);
            out.extend(local_header(m));
            out.extend(*data);
        }
        out.extend(directory(&members));
        (out, layout.len())
    }

    #[test]
    fn a_zip_reader_reads_every_member_back() {
        let files: [(&str, &[u8]); 3] =
            [("manifest.json", b"{}\n"), ("pdf/a.pdf", b"%PDF-1.7 one"), ("pdf/empty.pdf", b"")];
        let (bytes, len) = write(&files);
        assert_eq!(bytes.len() as u64, len, "the layout predicts the length");
        let mut archive = ::zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 3);
        for (name, data) in files {
            let mut member = archive.by_name(name).unwrap();
            assert_eq!(member.compression(), ::zip::CompressionMethod::Stored);
            assert_eq!(member.unix_mode(), Some(UNIX_FILE_MODE));
            let modified = member.last_modified().unwrap();
            assert_eq!((modified.year(), modified.hour(), modified.minute(), modified.second()), (2026, 9, 30, 16));
            let mut read = Vec::new();
            member.read_to_end(&mut read).unwrap();
            assert_eq!(read, data, "{name}");
        }
    }

    #[test]
    fn an_empty_zip_is_just_the_end_record() {
        let (bytes, len) = write(&[]);
        assert_eq!((bytes.len(), len), (22, 22));
        assert_eq!(::zip::ZipArchive::new(Cursor::new(bytes)).unwrap().len(), 0);
    }

    #[test]
    fn the_layout_refuses_what_would_need_zip64() {
        let mut layout = Layout::default();
        assert_eq!(layout.add("a", u64::from(u32::MAX) - 10), None, "a member past 4 GiB");
        let mut layout = Layout::default();
        assert_eq!(layout.add("a", 1 << 31), Some(0));
        assert!(layout.add("b", 1 << 31).is_none(), "offsets past 4 GiB");
        let mut layout = Layout::default();
        assert!((0..u16::MAX).all(|_| layout.add("x", 0).is_some()));
        assert!(layout.add("x", 0).is_none(), "more than 65,535 members");
    }

    #[test]
    fn dos_times_clamp_to_their_range() {
        let old = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(dos_time(old).1 >> 9, 0);
        assert_eq!(dos_time(at()), ((9 << 11) | (30 << 5) | 8, (46 << 9) | (11 << 5) | 24));
    }
}
