//! Secrets from files (audit F19): a key file must be readable by its owner only, and what is
//! read is wiped from memory when dropped.

use std::path::Path;

use anyhow::{bail, Context, Result};
use zeroize::Zeroizing;

/// The trimmed contents of a key file, refused when others may read it.
pub fn read_key_file(path: &Path) -> Result<Zeroizing<String>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!("{}: mode {:o} lets others read the key: chmod 600 it", path.display(), mode & 0o777);
        }
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?);
    Ok(Zeroizing::new(text.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "0xabc\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_key_file(&path).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_key_file(&path).unwrap().as_str(), "0xabc");
    }
}
