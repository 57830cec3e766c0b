//! What Portcullis writes to disk is readable by its own user only: directories it
//! creates are 0700, the server secret and the SQLite database with its `-wal` and
//! `-shm` files 0600 (SQLite gives the journal files the database file's mode).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Creates `dir` and its missing parents with mode 0700. A directory that exists is
/// left as it is (it may be shared, such as `/var/lib`).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes the SQLite database at `path` private before it is opened: created empty with
/// mode 0600 when missing, and tightened to 0600 (with its `-wal` and `-shm` files, if
/// any) when it exists.
pub fn private_database(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?;
    for file in [
        path.to_owned(),
        sibling(path, "-wal"),
        sibling(path, "-shm"),
    ] {
        if file.exists() {
            restrict(&file)?;
        }
    }
    Ok(())
}

/// `path` with `suffix` appended to its file name (`portcullis.db-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Mode 0600.
fn restrict(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_directories_and_database_files_are_private() {
        let root = tempfile::tempdir().unwrap();
        let db = root.path().join("data/nested/portcullis.db");
        private_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&root.path().join("data")), 0o700);
        assert_eq!(mode(&root.path().join("data/nested")), 0o700);
        // Files left world-readable by an older version are tightened.
        for f in [&db, &sibling(&db, "-wal"), &sibling(&db, "-shm")] {
            fs::write(f, b"").unwrap();
            fs::set_permissions(f, fs::Permissions::from_mode(0o644)).unwrap();
        }
        private_database(&db).unwrap();
        for f in [&db, &sibling(&db, "-wal"), &sibling(&db, "-shm")] {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
        // An existing directory is not changed.
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(root.path()).unwrap();
        assert_eq!(mode(root.path()), 0o755);
    }
}
