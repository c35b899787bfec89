//! The container every iden3 file shares: `magic (4) || version u32 || nSections u32`, then
//! sections `id u32 || size u64 || bytes`, all integers little-endian. Sections are found by id:
//! snarkjs writes them in different orders (`zkey new` writes 1, 2, 4, 3, 9, 8, 5, 6, 7, 10).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};

use super::FormatError;

/// Where each section of an opened file lies.
#[derive(Clone, Debug)]
pub struct Sections {
    kind: &'static str,
    /// The version in the file's header.
    pub version: u32,
    entries: BTreeMap<u32, (u64, u64)>,
}

impl Sections {
    /// Read the header and the section table of `r` (a `.kind` file with `magic`), refusing a
    /// version above `max_version`, a duplicated section and a section past the end.
    pub fn read<R: Read + Seek>(r: &mut R, kind: &'static str, magic: &[u8; 4], max_version: u32) -> Result<Sections, FormatError> {
        let len = r.seek(SeekFrom::End(0)).map_err(|e| io(kind, e))?;
        r.seek(SeekFrom::Start(0)).map_err(|e| io(kind, e))?;
        let mut head = [0u8; 12];
        if len >= 12 {
            r.read_exact(&mut head).map_err(|e| io(kind, e))?;
        }
        let (version, count) = check_head(&head, len, kind, magic, max_version)?;
        let mut entries = BTreeMap::new();
        let mut at = 12u64;
        for i in 0..count {
            if at + 12 > len {
                return Err(FormatError::Truncated(format!(".{kind}: section header {i} of {count} past the end")));
            }
            let mut sh = [0u8; 12];
            r.read_exact(&mut sh).map_err(|e| io(kind, e))?;
            let id = u32::from_le_bytes(sh[..4].try_into().expect("4 bytes"));
            let size = u64::from_le_bytes(sh[4..].try_into().expect("8 bytes"));
            let start = at + 12;
            add_entry(&mut entries, kind, id, start, size, len)?;
            at = start + size;
            r.seek(SeekFrom::Start(at)).map_err(|e| io(kind, e))?;
        }
        Ok(Sections { kind, version, entries })
    }

    /// The table of a file read front to back: `entries` maps each id to its start and length.
    pub(super) fn from_entries(kind: &'static str, version: u32, entries: BTreeMap<u32, (u64, u64)>) -> Sections {
        Sections { kind, version, entries }
    }

    /// Whether section `id` is present.
    pub fn has(&self, id: u32) -> bool {
        self.entries.contains_key(&id)
    }

    /// Section `id`'s length in bytes.
    pub fn size(&self, id: u32) -> Result<u64, FormatError> {
        Ok(self.entry(id)?.1)
    }

    /// Section `id`'s start and length in bytes.
    pub fn entry(&self, id: u32) -> Result<(u64, u64), FormatError> {
        self.entries.get(&id).copied().ok_or(FormatError::MissingSection { kind: self.kind, id })
    }

    /// Section `id`, whole.
    pub fn bytes<R: Read + Seek>(&self, r: &mut R, id: u32) -> Result<Vec<u8>, FormatError> {
        let (_, size) = self.entry(id)?;
        self.part(r, id, 0, size)
    }

    /// `len` bytes of section `id` from byte `offset` of the section.
    pub fn part<R: Read + Seek>(&self, r: &mut R, id: u32, offset: u64, len: u64) -> Result<Vec<u8>, FormatError> {
        let (start, size) = self.entry(id)?;
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(FormatError::Truncated(format!(".{}: section {id} has {size} bytes, {len} wanted at {offset}", self.kind)));
        }
        r.seek(SeekFrom::Start(start + offset)).map_err(|e| io(self.kind, e))?;
        let mut out = vec![0u8; usize::try_from(len).map_err(|_| FormatError::Header("section too large".into()))?];
        r.read_exact(&mut out).map_err(|e| io(self.kind, e))?;
        Ok(out)
    }

    /// Refuse section `id` unless it holds exactly `expected` bytes.
    pub fn expect_size(&self, id: u32, expected: u64) -> Result<(), FormatError> {
        let found = self.size(id)?;
        if found != expected {
            return Err(FormatError::SectionSize { kind: self.kind, id, expected, found });
        }
        Ok(())
    }
}

/// Check a file's first 12 bytes (`head`, of a file of `len` bytes): the magic and the
/// version; returns the version and the number of sections.
pub(super) fn check_head(head: &[u8; 12], len: u64, kind: &'static str, magic: &[u8; 4], max_version: u32) -> Result<(u32, u32), FormatError> {
    if len < 12 {
        return Err(FormatError::Truncated(format!(".{kind}: {len} bytes, shorter than the 12-byte header")));
    }
    if &head[..4] != magic {
        return Err(FormatError::BadMagic {
            kind,
            expected: String::from_utf8_lossy(magic).into_owned(),
            found: String::from_utf8_lossy(&head[..4]).into_owned(),
        });
    }
    let version = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
    if version == 0 || version > max_version {
        return Err(FormatError::UnsupportedVersion { kind, version, max: max_version });
    }
    Ok((version, u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"))))
}

/// Record section `id` at `start` with `size` bytes in a file of `len`, refusing a section past
/// the end and a second section of the same id.
pub(super) fn add_entry(entries: &mut BTreeMap<u32, (u64, u64)>, kind: &'static str, id: u32, start: u64, size: u64, len: u64) -> Result<(), FormatError> {
    if size > len - start {
        return Err(FormatError::Truncated(format!(".{kind}: section {id} announces {size} bytes, {} remain", len - start)));
    }
    if entries.insert(id, (start, size)).is_some() {
        return Err(FormatError::DuplicateSection { kind, id });
    }
    Ok(())
}

fn io(kind: &'static str, e: std::io::Error) -> FormatError {
    FormatError::Io { path: format!("(.{kind} file)"), source: e }
}

/// Writes a container: the header, then sections in the order given.
pub struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    /// Start a file with `magic`, `version` and `sections` sections to follow.
    pub fn new(mut out: W, magic: &[u8; 4], version: u32, sections: u32) -> std::io::Result<Writer<W>> {
        out.write_all(magic)?;
        out.write_all(&version.to_le_bytes())?;
        out.write_all(&sections.to_le_bytes())?;
        Ok(Writer { out })
    }

    /// One whole section.
    pub fn section(&mut self, id: u32, bytes: &[u8]) -> std::io::Result<()> {
        self.begin(id, bytes.len() as u64)?;
        self.out.write_all(bytes)
    }

    /// A section's header; its `size` bytes follow through [`Writer::raw`].
    pub fn begin(&mut self, id: u32, size: u64) -> std::io::Result<()> {
        self.out.write_all(&id.to_le_bytes())?;
        self.out.write_all(&size.to_le_bytes())
    }

    /// Bytes of the section begun last.
    pub fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)
    }

    /// The underlying writer, flushed.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Write `path` whole or not at all: into a temporary file beside it, synced, then renamed.
pub fn write_atomically(path: &std::path::Path, write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>) -> Result<(), FormatError> {
    write_atomically_with(path, |w| write(w).map_err(|e| FormatError::io(path, e)))
}

/// [`write_atomically`] for a writer that fails with its own error: nothing is left at `path`
/// (nor beside it) unless `write` succeeds and the file is synced.
pub fn write_atomically_with<E: From<FormatError>>(
    path: &std::path::Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), E>,
) -> Result<(), E> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let io = |e: std::io::Error| E::from(FormatError::io(path, e));
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Little-endian integers from a byte slice, with the position, refusing to read past its end.
pub struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    /// Read `bytes`, naming `what` in errors.
    pub fn new(bytes: &'a [u8], what: &'static str) -> Cursor<'a> {
        Cursor { bytes, at: 0, what }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(FormatError::Truncated(format!("{}: {n} bytes wanted at {}, {} there", self.what, self.at, self.bytes.len())));
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    /// A u32.
    pub fn u32(&mut self) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    /// A u64.
    pub fn u64(&mut self) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    /// A u8.
    pub fn u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.take(1)?[0])
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
}
