//! The index of an archive: its central directory, read once when the
//! archive is opened, checked entry by entry.
//!
//! The zip crate reads the central directory too, but it keeps one entry
//! per name (a duplicated name silently hides the other entry) and gives
//! sizes only once the local header of an entry has been read. So the
//! records are read here a second time, straight from the bytes, to see
//! every name as it is written and every size and offset, without touching
//! any local header or any data.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dman_core::StoragePath;

use crate::error::ArchiveError;
use crate::file::SharedFile;

/// Signature of a central directory file header.
const CENTRAL_HEADER: u32 = 0x0201_4b50;
/// Size of the fixed part of a central directory file header.
const CENTRAL_HEADER_LEN: usize = 46;
/// Size of the fixed part of a local file header: the least room an entry
/// takes before its data.
const LOCAL_HEADER_LEN: u64 = 30;
/// The ZIP64 extended information extra field.
const ZIP64_EXTRA: u16 = 0x0001;
/// The Info-ZIP Unicode path extra field.
const UNICODE_PATH_EXTRA: u16 = 0x7075;

/// One record of the central directory, as written.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub(crate) name: Vec<u8>,
    pub(crate) extra: Vec<u8>,
    pub(crate) flags: u16,
    pub(crate) compressed_size: u64,
    pub(crate) size: u64,
    pub(crate) local_offset: u64,
    /// MS-DOS time and date of the last modification.
    pub(crate) dos_time: u16,
    pub(crate) dos_date: u16,
}

/// A file of the archive.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Its position in the central directory (the zip crate's index).
    pub(crate) index: usize,
    /// Its name as the archive spells it, for messages.
    pub(crate) name: Arc<str>,
    /// Declared uncompressed size.
    pub(crate) size: u64,
    /// When it was last modified, as the record says (`None`: it does
    /// not say anything usable).
    pub(crate) modified: Option<SystemTime>,
}

/// An entry of the archive in central-directory order, file or folder.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) path: StoragePath,
    pub(crate) dir: bool,
    pub(crate) index: usize,
}

/// Every entry of an archive, checked.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// The files, by normalized name.
    pub(crate) files: BTreeMap<StoragePath, Entry>,
    /// Files and folders in central-directory order.
    pub(crate) order: Vec<Slot>,
}

impl Index {
    /// Reads and checks the central directory of `archive`, which the zip
    /// crate opened from `file`. `limit` is the largest declared size an
    /// entry may have.
    pub(crate) fn read(
        archive: &zip::ZipArchive<SharedFile>,
        file: &SharedFile,
        limit: u64,
    ) -> Result<Index, ArchiveError> {
        let directory_start = archive.central_directory_start();
        let raw = read_central_directory(file.clone(), directory_start)?;
        check_counts(&raw, archive.len())?;

        let mut index = Index::default();
        let mut seen: HashSet<StoragePath> = HashSet::new();
        let mut extents = Vec::with_capacity(raw.len());
        for (position, record) in raw.iter().enumerate() {
            let name = decode_name(record).map_err(|reason| {
                unsafe_name(String::from_utf8_lossy(&record.name).into_owned(), reason)
            })?;
            let name = name.as_str();
            let shown = || name.to_owned();
            let (path, dir) = check_name(name).map_err(|reason| unsafe_name(shown(), reason))?;
            // A copy without decrypting would lose the encryption header, and
            // reading needs a password: such archives are not dman's.
            if record.flags & 1 != 0 {
                return Err(ArchiveError::Encrypted { name: shown() });
            }
            extents.push((
                archive.offset().saturating_add(record.local_offset),
                record.compressed_size,
                position,
            ));
            let Some(path) = path else {
                // `./`: the archive's root folder, nothing to index.
                continue;
            };
            if !seen.insert(path.clone()) {
                return Err(ArchiveError::DuplicateName { name: shown() });
            }
            if !dir {
                if record.size > limit {
                    return Err(ArchiveError::DeclaredTooLarge {
                        name: shown(),
                        declared: record.size,
                        limit,
                    });
                }
                index.files.insert(
                    path.clone(),
                    Entry {
                        index: position,
                        name: name.into(),
                        size: record.size,
                        modified: modified(record),
                    },
                );
            }
            index.order.push(Slot {
                path,
                dir,
                index: position,
            });
        }
        check_overlaps(&mut extents, directory_start, |position| {
            raw.get(position).map_or_else(
                || "?".to_owned(),
                |record| decode_name(record).unwrap_or_else(|_| "?".to_owned()),
            )
        })?;
        Ok(index)
    }
}

fn corrupt(detail: impl Into<String>) -> ArchiveError {
    ArchiveError::CorruptCentralDirectory {
        detail: detail.into(),
    }
}

fn unsafe_name(name: String, reason: &'static str) -> ArchiveError {
    ArchiveError::UnsafeName { name, reason }
}

/// Reads every central directory record from `start` on, up to the first
/// thing that is not one (the end records).
fn read_central_directory(file: SharedFile, start: u64) -> Result<Vec<RawEntry>, ArchiveError> {
    let len = file.len();
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    reader
        .seek(SeekFrom::Start(start))
        .map_err(|err| corrupt(format!("cannot seek to its start at byte {start}: {err}")))?;
    let mut position = start;
    let mut entries = Vec::new();
    loop {
        if position + 4 > len {
            break;
        }
        let mut fixed = [0u8; CENTRAL_HEADER_LEN];
        let available = (len - position).min(CENTRAL_HEADER_LEN as u64) as usize;
        reader
            .read_exact(&mut fixed[..available])
            .map_err(|err| corrupt(format!("cannot read record at byte {position}: {err}")))?;
        if u32_at(&fixed, 0) != CENTRAL_HEADER {
            break;
        }
        if available < CENTRAL_HEADER_LEN {
            return Err(corrupt(format!("record at byte {position} is cut short")));
        }
        let flags = u16_at(&fixed, 8);
        let mut compressed_size = u64::from(u32_at(&fixed, 20));
        let mut size = u64::from(u32_at(&fixed, 24));
        let name_len = usize::from(u16_at(&fixed, 28));
        let extra_len = usize::from(u16_at(&fixed, 30));
        let comment_len = usize::from(u16_at(&fixed, 32));
        let mut local_offset = u64::from(u32_at(&fixed, 42));
        let variable = name_len + extra_len + comment_len;
        if position + (CENTRAL_HEADER_LEN + variable) as u64 > len {
            return Err(corrupt(format!(
                "record at byte {position} reaches past the end of the file"
            )));
        }
        let mut rest = vec![0u8; variable];
        reader
            .read_exact(&mut rest)
            .map_err(|err| corrupt(format!("cannot read record at byte {position}: {err}")))?;
        let name = rest[..name_len].to_vec();
        let extra = &rest[name_len..name_len + extra_len];
        // ZIP64: the fields set to all ones are in the extended information.
        let mut fields = extra_field(extra, ZIP64_EXTRA).unwrap_or(&[]);
        for value in [&mut size, &mut compressed_size, &mut local_offset] {
            if *value == u64::from(u32::MAX) {
                if fields.len() < 8 {
                    return Err(corrupt(format!(
                        "entry {:?} needs ZIP64 sizes that its record lacks",
                        String::from_utf8_lossy(&name)
                    )));
                }
                *value = u64::from_le_bytes(
                    fields[..8]
                        .try_into()
                        .map_err(|_| corrupt("a ZIP64 field is cut short"))?,
                );
                fields = &fields[8..];
            }
        }
        entries.push(RawEntry {
            name,
            extra: extra.to_vec(),
            flags,
            compressed_size,
            size,
            local_offset,
            dos_time: u16_at(&fixed, 12),
            dos_date: u16_at(&fixed, 14),
        });
        position += (CENTRAL_HEADER_LEN + variable) as u64;
    }
    Ok(entries)
}

/// The extended timestamp extra field (Info-ZIP, "UT").
const EXTENDED_TIMESTAMP_EXTRA: u16 = 0x5455;

/// When an entry was last modified: the Unix time of its extended
/// timestamp field when it has one (Info-ZIP's `zip` writes it), else its
/// MS-DOS date and time, read as UTC (dman-zip and Python's `zipfile` write
/// them so; other tools write local time, off by the zone).
fn modified(record: &RawEntry) -> Option<SystemTime> {
    if let Some(field) = extra_field(&record.extra, EXTENDED_TIMESTAMP_EXTRA) {
        if field.len() >= 5 && field[0] & 1 != 0 {
            let seconds = u32_at(field, 1);
            return Some(UNIX_EPOCH + Duration::from_secs(u64::from(seconds)));
        }
    }
    crate::entry::dos_to_system(record.dos_date, record.dos_time)
}

/// The data of the extra field `wanted`, if present.
fn extra_field(mut extra: &[u8], wanted: u16) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0);
        let len = usize::from(u16_at(extra, 2));
        let data = extra.get(4..4 + len)?;
        if id == wanted {
            return Some(data);
        }
        extra = &extra[4 + len..];
    }
    None
}

/// The name of an entry as text: UTF-8 when the entry is flagged so; the
/// Info-ZIP Unicode path extra field when it has one that matches the name;
/// UTF-8 when the bytes are valid UTF-8 (Info-ZIP's `zip` on Unix and
/// macOS write UTF-8 names without the flag); code page 437 otherwise, as
/// the format says.
pub(crate) fn decode_name(entry: &RawEntry) -> Result<String, &'static str> {
    if entry.flags & (1 << 11) != 0 {
        return String::from_utf8(entry.name.clone())
            .map_err(|_| "the name is flagged UTF-8 but is not valid UTF-8");
    }
    if let Some(field) = extra_field(&entry.extra, UNICODE_PATH_EXTRA) {
        if field.len() >= 5 && field[0] == 1 && u32_at(field, 1) == crc32(&entry.name) {
            return String::from_utf8(field[5..].to_vec())
                .map_err(|_| "its Unicode path field is not valid UTF-8");
        }
    }
    if let Ok(name) = std::str::from_utf8(&entry.name) {
        return Ok(name.to_owned());
    }
    Ok(entry
        .name
        .iter()
        .map(|&byte| match byte {
            0..=0x7f => char::from(byte),
            _ => CP437_HIGH[usize::from(byte - 0x80)],
        })
        .collect())
}

/// The upper half of code page 437.
const CP437_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', //
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', //
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', //
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', //
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{a0}', //
];

/// The CRC-32 (IEEE) of `data`.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The zip crate keeps one entry per name: fewer entries there than records
/// here means a name is duplicated.
fn check_counts(raw: &[RawEntry], distinct: usize) -> Result<(), ArchiveError> {
    if raw.len() == distinct {
        return Ok(());
    }
    let mut names = HashSet::new();
    for entry in raw {
        if !names.insert(entry.name.as_slice()) {
            return Err(ArchiveError::DuplicateName {
                name: String::from_utf8_lossy(&entry.name).into_owned(),
            });
        }
    }
    Err(corrupt(format!(
        "it holds {} records, but its end record declares {distinct}",
        raw.len()
    )))
}

/// Checks an entry name. Gives its normalized path (`None` for the root
/// folder, `./`) and whether it names a folder.
pub(crate) fn check_name(name: &str) -> Result<(Option<StoragePath>, bool), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name.contains('\0') {
        return Err("the name holds a NUL byte");
    }
    if name.contains('\\') {
        return Err("the name holds a backslash (a folder separator on Windows)");
    }
    if name.starts_with('/') {
        return Err("the name is absolute");
    }
    let first = name.split('/').next().unwrap_or_default().as_bytes();
    if first.len() >= 2 && first[0].is_ascii_alphabetic() && first[1] == b':' {
        return Err("the name starts with a Windows drive");
    }
    if name.split('/').any(|segment| segment == "..") {
        return Err("the name climbs out of the archive with `..`");
    }
    let dir = name.ends_with('/');
    let path = StoragePath::parse(name).map_err(|_| "the name is not a valid relative path")?;
    if path.is_root() {
        return if dir {
            Ok((None, true))
        } else {
            Err("the name names no file")
        };
    }
    Ok((Some(path), dir))
}

/// Checks that no two entries share bytes, and that no entry reaches into
/// the central directory. Each entry takes at least a local header and its
/// compressed data; `extents` holds `(start, compressed size, position)`.
fn check_overlaps(
    extents: &mut [(u64, u64, usize)],
    directory_start: u64,
    name_of: impl Fn(usize) -> String,
) -> Result<(), ArchiveError> {
    extents.sort_unstable();
    for (at, &(start, compressed, position)) in extents.iter().enumerate() {
        let end = start
            .saturating_add(LOCAL_HEADER_LEN)
            .saturating_add(compressed);
        match extents.get(at + 1) {
            Some(&(next, _, other)) if end > next => {
                return Err(ArchiveError::Overlapping {
                    name: name_of(position),
                    other: format!("entry {:?}", name_of(other)),
                });
            }
            None if end > directory_start => {
                return Err(ArchiveError::Overlapping {
                    name: name_of(position),
                    other: "the central directory".into(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_normalized() {
        let ok = |name: &str| check_name(name).unwrap();
        assert_eq!(
            ok("a/b.json"),
            (Some(StoragePath::parse("a/b.json").unwrap()), false)
        );
        assert_eq!(
            ok("./a//b/"),
            (Some(StoragePath::parse("a/b").unwrap()), true)
        );
        assert_eq!(ok("./"), (None, true));
        assert!(!ok("cache/examples:patterns:common/x.json").1);
        for (name, reason) in [
            ("", "empty"),
            ("../x", "climbs"),
            ("a/../../x", "climbs"),
            ("a/../b", "climbs"),
            ("/etc/passwd", "absolute"),
            ("a\\b", "backslash"),
            ("..\\x", "backslash"),
            ("C:/x", "drive"),
            ("c:x", "drive"),
            ("a\0b", "NUL"),
            (".", "no file"),
        ] {
            let err = check_name(name).unwrap_err();
            assert!(err.contains(reason), "{name:?}: {err}");
        }
    }

    fn raw(name: &[u8], flags: u16, extra: Vec<u8>) -> RawEntry {
        RawEntry {
            name: name.to_vec(),
            extra,
            flags,
            compressed_size: 0,
            size: 0,
            local_offset: 0,
            dos_time: 0,
            dos_date: 0,
        }
    }

    #[test]
    fn names_are_decoded_as_the_tools_write_them() {
        let utf8 = "résultats/ü.npy".as_bytes();
        assert_eq!(
            decode_name(&raw(utf8, 1 << 11, vec![])).unwrap(),
            "résultats/ü.npy"
        );
        // Info-ZIP on Unix: UTF-8 without the flag.
        assert_eq!(
            decode_name(&raw(utf8, 0, vec![])).unwrap(),
            "résultats/ü.npy"
        );
        // Code page 437 (DOS tools): 0x82 is é, 0x81 is ü.
        assert_eq!(
            decode_name(&raw(b"r\x82sultats/\x81.npy", 0, vec![])).unwrap(),
            "résultats/ü.npy"
        );
        // The Unicode path field wins when its checksum matches the name.
        let name = b"r\x82.txt";
        let mut field = vec![0x75, 0x70, 0, 0, 1];
        field.extend(crc32(name).to_le_bytes());
        field.extend("other.txt".as_bytes());
        let len = (field.len() - 4) as u16;
        field[2..4].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            decode_name(&raw(name, 0, field.clone())).unwrap(),
            "other.txt"
        );
        field[5] ^= 1;
        assert_eq!(decode_name(&raw(name, 0, field)).unwrap(), "ré.txt");
        assert!(decode_name(&raw(b"\xff", 1 << 11, vec![])).is_err());
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn overlaps_are_found() {
        let name = |position: usize| format!("e{position}");
        let mut fine = [(0, 10, 0), (40, 0, 1), (70, 5, 2)];
        assert!(check_overlaps(&mut fine, 105, name).is_ok());
        let mut shared = [(0, 100, 0), (50, 10, 1)];
        let err = check_overlaps(&mut shared, 1000, name).unwrap_err();
        assert!(
            err.to_string().contains("\"e0\" overlaps entry \"e1\""),
            "{err}"
        );
        let mut into_directory = [(0, 100, 0)];
        let err = check_overlaps(&mut into_directory, 120, name).unwrap_err();
        assert!(err.to_string().contains("central directory"), "{err}");
    }
}
