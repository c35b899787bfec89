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

/// Where a key came from: the variable `NAME` itself (removed from the environment once read)
/// or the file `NAME_FILE` names (a container's secret, read again on a restart).
#[derive(Debug)]
pub enum KeySource {
    /// `NAME`'s value.
    Variable(Zeroizing<String>),
    /// The contents of `NAME_FILE`'s file.
    File(Zeroizing<String>),
}

impl KeySource {
    /// The key's text.
    pub fn key(&self) -> &str {
        match self {
            KeySource::Variable(k) | KeySource::File(k) => k.as_str(),
        }
    }
}

/// The key in the environment variable `name`, or in the file named by `name` + `_FILE` (as
/// container images read secrets), or None when neither is set; both set is an error. The
/// variable itself is removed from the environment once read: call this while the process is
/// single-threaded.
pub fn key_from_env(name: &str) -> Result<Option<KeySource>> {
    let file_var = format!("{name}_FILE");
    match (std::env::var_os(name), std::env::var_os(&file_var)) {
        (Some(_), Some(_)) => bail!("both {name} and {file_var} are set: give the key one way"),
        (None, Some(path)) => Ok(Some(KeySource::File(
            read_key_file(Path::new(&path)).with_context(|| format!("{file_var}: cannot read the key"))?,
        ))),
        (Some(value), None) => {
            let value = value.into_string().map_err(|_| anyhow::anyhow!("{name} is not UTF-8"))?;
            // Out of the environment: children and /proc/PID/environ no longer see it.
            std::env::remove_var(name);
            Ok(Some(KeySource::Variable(Zeroizing::new(value.trim().to_string()))))
        }
        (None, None) => Ok(None),
    }
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

    #[cfg(unix)]
    #[test]
    fn a_key_comes_from_its_variable_or_its_file_never_both() {
        use std::os::unix::fs::PermissionsExt;
        // Names of this test's own: the environment is the process's, shared by every test.
        let (name, file_var) = ("ZKROLLUP_TEST_SECRETS_KEY", "ZKROLLUP_TEST_SECRETS_KEY_FILE");
        assert!(key_from_env(name).unwrap().is_none());
        std::env::set_var(name, " 0x01\n");
        match key_from_env(name).unwrap() {
            Some(KeySource::Variable(k)) => assert_eq!(k.as_str(), "0x01"),
            other => panic!("{other:?}"),
        }
        assert!(std::env::var_os(name).is_none(), "the variable is removed once read");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "0x02\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::env::set_var(file_var, &path);
        assert_eq!(key_from_env(name).unwrap().unwrap().key(), "0x02");
        assert!(std::env::var_os(file_var).is_some(), "the file is named again on a restart");
        std::env::set_var(name, "0x01");
        let e = key_from_env(name).unwrap_err().to_string();
        assert!(e.contains("both"), "{e}");
        std::env::remove_var(name);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = format!("{:#}", key_from_env(name).unwrap_err());
        assert!(e.contains(file_var) && e.contains("chmod 600"), "{e}");
        std::env::remove_var(file_var);
    }
}
