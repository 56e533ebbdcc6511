//! [`ArchiveError`]: why an archive, or one of its entries, was refused.

/// Why an archive or one of its entries was refused, or an archive operation
/// failed.
///
/// The backend reports it as the source of a
/// [`StorageError::Failed`](dman_core::StorageError::Failed), whose message
/// names the archive; this error names the entry. Downcast the source to
/// inspect it:
///
/// ```
/// use dman_zip::ArchiveError;
///
/// fn refused_entry(err: &dman_core::StorageError) -> Option<&str> {
///     let source = std::error::Error::source(err)?;
///     source.downcast_ref::<ArchiveError>()?.entry()
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// An entry name that would reach outside the folder the archive is
    /// extracted to, or that is not a plain relative path: a `..` segment,
    /// an absolute name, a Windows drive, a backslash, a NUL byte, an
    /// empty name or a name that is not valid UTF-8.
    #[error("entry {name:?} is refused: {reason}")]
    UnsafeName {
        /// The entry name as the archive spells it (invalid UTF-8 replaced).
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Two entries of the central directory have the same name (after
    /// `./` prefixes and repeated slashes are dropped): which one is the
    /// file depends on the tool that reads the archive.
    #[error("entry {name:?} appears more than once in the archive")]
    DuplicateName {
        /// The duplicated name.
        name: String,
    },
    /// An entry declares a size above the configured limit
    /// ([`ZipBuilder::max_entry_size`](crate::ZipBuilder::max_entry_size)).
    #[error(
        "entry {name:?} declares {declared} bytes, more than the limit of {limit} bytes \
         (a zip bomb?); raise the limit with `ZipBuilder::max_entry_size` if the archive is trusted"
    )]
    DeclaredTooLarge {
        /// The entry name.
        name: String,
        /// Its declared (uncompressed) size.
        declared: u64,
        /// The limit.
        limit: u64,
    },
    /// An entry decompresses to more bytes than its header declares: the
    /// read stopped one byte past the declared size.
    #[error("entry {name:?} holds more data than the {declared} bytes its header declares (a zip bomb?)")]
    LargerThanDeclared {
        /// The entry name.
        name: String,
        /// Its declared (uncompressed) size.
        declared: u64,
    },
    /// An entry decompresses to fewer bytes than its header declares.
    #[error(
        "entry {name:?} holds {actual} bytes, fewer than the {declared} bytes its header declares"
    )]
    SmallerThanDeclared {
        /// The entry name.
        name: String,
        /// Its declared (uncompressed) size.
        declared: u64,
        /// What it decompressed to.
        actual: u64,
    },
    /// Two entries share bytes of the archive (the overlapping-entries zip
    /// bomb), or an entry's data reaches past the start of the central
    /// directory.
    #[error("entry {name:?} overlaps {other} (a zip bomb, or a corrupt archive)")]
    Overlapping {
        /// The entry name.
        name: String,
        /// What it overlaps: another entry, or the central directory.
        other: String,
    },
    /// The central directory cannot be read, or contradicts itself.
    #[error("corrupt central directory: {detail}")]
    CorruptCentralDirectory {
        /// What is wrong.
        detail: String,
    },
    /// The entry is encrypted; encrypted entries cannot be read.
    #[error("entry {name:?} is encrypted, which is not supported")]
    Encrypted {
        /// The entry name.
        name: String,
    },
    /// Reading or decompressing an entry failed (a bad checksum, corrupt
    /// compressed data, an unsupported compression method).
    #[error("entry {name:?} cannot be read: {source}")]
    Entry {
        /// The entry name.
        name: String,
        /// What went wrong.
        #[source]
        source: zip::result::ZipError,
    },
    /// The backend was opened read-only and was asked to change the archive.
    #[error("the archive was opened read-only")]
    ReadOnly,
    /// Writing the archive file failed (a flush): the disk is full, the
    /// folder is not writable, ... The source is the I/O error, wrapped in
    /// [`DiskFull`](dman_core::DiskFull) when the disk is full.
    #[error("cannot write the archive `{}`: {source}", archive.display())]
    Write {
        /// The archive file.
        archive: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The compression method or level cannot be written by this build.
    #[error("cannot compress with {method:?} (level {level:?}): {source}")]
    Compression {
        /// The method asked for.
        method: zip::CompressionMethod,
        /// The level asked for.
        level: Option<i64>,
        /// What the zip crate said.
        #[source]
        source: zip::result::ZipError,
    },
}

impl ArchiveError {
    /// The name of the entry the error is about, if it is about one.
    pub fn entry(&self) -> Option<&str> {
        match self {
            ArchiveError::UnsafeName { name, .. }
            | ArchiveError::DuplicateName { name }
            | ArchiveError::DeclaredTooLarge { name, .. }
            | ArchiveError::LargerThanDeclared { name, .. }
            | ArchiveError::SmallerThanDeclared { name, .. }
            | ArchiveError::Overlapping { name, .. }
            | ArchiveError::Encrypted { name }
            | ArchiveError::Entry { name, .. } => Some(name),
            ArchiveError::CorruptCentralDirectory { .. }
            | ArchiveError::Write { .. }
            | ArchiveError::ReadOnly
            | ArchiveError::Compression { .. } => None,
        }
    }
}
