//! Compressing a written file into a staged entry, and reading an entry
//! back with its size checked.

use std::io::{Cursor, Read, Seek, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use crate::error::ArchiveError;

/// The name of the one entry of a staged archive; the entry is renamed when
/// it is copied into the real archive.
pub(crate) const STAGED_NAME: &str = "staged";

/// Entries this large or larger need ZIP64 fields.
const ZIP64_THRESHOLD: u64 = u32::MAX as u64;

/// How entries are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Compression {
    pub(crate) method: CompressionMethod,
    pub(crate) level: Option<i64>,
}

/// A file written but not yet flushed: a one-entry zip archive in memory
/// holding the file compressed, ready to be copied into the real archive
/// without compressing it again.
#[derive(Debug)]
pub(crate) struct StagedFile {
    pub(crate) archive: Bytes,
    pub(crate) size: u64,
    /// When it was written.
    pub(crate) written: SystemTime,
}

impl StagedFile {
    /// Compresses `data` (blocking work: call it off the async executor).
    pub(crate) fn compress(data: &[u8], compression: Compression) -> Result<Self, ArchiveError> {
        let failed = |source| ArchiveError::Compression {
            method: compression.method,
            level: compression.level,
            source,
        };
        let options = SimpleFileOptions::default()
            .compression_method(compression.method)
            .compression_level(compression.level)
            .large_file(data.len() as u64 >= ZIP64_THRESHOLD)
            .last_modified_time(dos_now())
            .unix_permissions(0o644);
        let capacity = match compression.method {
            CompressionMethod::Stored => data.len() + 256,
            _ => data.len() / 2 + 256,
        };
        let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(capacity)));
        writer.start_file(STAGED_NAME, options).map_err(failed)?;
        writer
            .write_all(data)
            .map_err(|err| failed(zip::result::ZipError::Io(err)))?;
        let archive = writer.finish().map_err(failed)?.into_inner();
        Ok(StagedFile {
            archive: Bytes::from(archive),
            size: data.len() as u64,
            written: SystemTime::now(),
        })
    }

    /// The staged file's content (blocking work).
    pub(crate) fn read(&self, name: &str, limit: u64) -> Result<Vec<u8>, ArchiveError> {
        let mut archive = ZipArchive::new(Cursor::new(self.archive.clone())).map_err(|source| {
            ArchiveError::Entry {
                name: name.to_owned(),
                source,
            }
        })?;
        read_entry(&mut archive, 0, name, self.size, limit)
    }

    /// Opens the staged archive, to copy its entry.
    pub(crate) fn open(&self) -> zip::result::ZipResult<ZipArchive<Cursor<Bytes>>> {
        ZipArchive::new(Cursor::new(self.archive.clone()))
    }
}

/// Reads entry `index` of `archive`, refusing it when it decompresses to
/// more than `declared` or `limit` bytes (the read stops one byte past the
/// smaller), or to fewer than `declared`. The checksum is checked.
pub(crate) fn read_entry<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
    name: &str,
    declared: u64,
    limit: u64,
) -> Result<Vec<u8>, ArchiveError> {
    let entry_error = |source| ArchiveError::Entry {
        name: name.to_owned(),
        source,
    };
    let mut entry = archive.by_index(index).map_err(entry_error)?;
    if entry.encrypted() {
        return Err(ArchiveError::Encrypted {
            name: name.to_owned(),
        });
    }
    if declared > limit {
        return Err(ArchiveError::DeclaredTooLarge {
            name: name.to_owned(),
            declared,
            limit,
        });
    }
    // Trust the declared size for the allocation only as far as the
    // compressed size makes it possible (deflate shrinks at most ~1032:1).
    let plausible = match entry.compression() {
        CompressionMethod::Stored => entry.compressed_size(),
        _ => entry.compressed_size().saturating_mul(1032),
    };
    let capacity = declared.min(plausible.saturating_add(64)).min(1 << 30);
    let mut data = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    (&mut entry)
        .take(declared.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|err| entry_error(zip::result::ZipError::Io(err)))?;
    let actual = data.len() as u64;
    if actual > declared {
        return Err(ArchiveError::LargerThanDeclared {
            name: name.to_owned(),
            declared,
        });
    }
    if actual < declared {
        return Err(ArchiveError::SmallerThanDeclared {
            name: name.to_owned(),
            declared,
            actual,
        });
    }
    Ok(data)
}

/// The current time (UTC) as a zip timestamp, or 1980-01-01 when the clock
/// is outside what zip can hold.
pub(crate) fn dos_now() -> DateTime {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| dos_time(since.as_secs()))
        .unwrap_or_default()
}

/// An MS-DOS date and time, read as UTC; `None` when they are not a
/// date (zero, a 13th month, ...).
pub(crate) fn dos_to_system(date: u16, time: u16) -> Option<SystemTime> {
    let year = 1980 + i64::from(date >> 9);
    let month = i64::from((date >> 5) & 0x0f);
    let day = i64::from(date & 0x1f);
    let hour = u64::from(time >> 11);
    let minute = u64::from((time >> 5) & 0x3f);
    let second = u64::from(time & 0x1f) * 2;
    if !(1..=12).contains(&month) || day == 0 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + std::time::Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A Unix time as a zip timestamp (two-second resolution).
fn dos_time(unix_seconds: u64) -> Option<DateTime> {
    let days = i64::try_from(unix_seconds / 86_400).ok()?;
    let seconds = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    DateTime::from_date_and_time(
        u16::try_from(year).ok()?,
        month,
        day,
        (seconds / 3600) as u8,
        (seconds / 60 % 60) as u8,
        (seconds % 60) as u8,
    )
    .ok()
}

/// Year, month and day of a count of days since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
    }

    #[test]
    fn dos_timestamps_read_back() {
        let time = dos_time(1_709_214_358).unwrap();
        let date =
            ((time.year() - 1980) << 9) | (u16::from(time.month()) << 5) | u16::from(time.day());
        let clock = (u16::from(time.hour()) << 11)
            | (u16::from(time.minute()) << 5)
            | u16::from(time.second() / 2);
        assert_eq!(
            dos_to_system(date, clock),
            Some(UNIX_EPOCH + std::time::Duration::from_secs(1_709_214_358))
        );
        assert_eq!(dos_to_system(0, 0), None);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
    }

    #[test]
    fn zip_timestamps() {
        // 2024-02-29 13:45:58 UTC
        let time = dos_time(1_709_214_358).unwrap();
        assert_eq!((time.year(), time.month(), time.day()), (2024, 2, 29));
        assert_eq!((time.hour(), time.minute(), time.second()), (13, 45, 58));
        assert!(dos_time(0).is_none(), "1970 is before zip's 1980");
    }

    #[test]
    fn staged_files_round_trip_and_are_compressed() {
        let data = b"dman ".repeat(1000);
        for method in [CompressionMethod::Deflated, CompressionMethod::Stored] {
            let compression = Compression {
                method,
                level: None,
            };
            let staged = StagedFile::compress(&data, compression).unwrap();
            assert_eq!(staged.size, data.len() as u64);
            assert_eq!(staged.read("x", u64::MAX).unwrap(), data);
            let archive = staged.open().unwrap();
            assert_eq!(archive.len(), 1);
            if method == CompressionMethod::Deflated {
                assert!(
                    staged.archive.len() < data.len() / 10,
                    "{}",
                    staged.archive.len()
                );
            } else {
                assert!(staged.archive.len() > data.len());
            }
        }
    }

    #[test]
    fn reads_stop_at_the_limit() {
        let data = vec![7u8; 10_000];
        let staged = StagedFile::compress(
            &data,
            Compression {
                method: CompressionMethod::Deflated,
                level: None,
            },
        )
        .unwrap();
        let err = staged.read("x", 100).unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::DeclaredTooLarge {
                    declared: 10_000,
                    limit: 100,
                    ..
                }
            ),
            "{err}"
        );
    }
}
