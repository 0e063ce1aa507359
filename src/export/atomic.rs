//! Files written whole or not at all: data goes to a temporary file beside the target, which is
//! renamed over it only when complete. A file dropped before `commit` leaves nothing behind, and
//! every temporary file alive is listed so that a process stopped by a signal can remove them
//! ([`remove_temporaries`]) before it exits.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Temporary files (and lock files) this process has open, to remove if it is stopped.
static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn live() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    // A panic elsewhere while holding the list leaves it usable.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Lists a file to remove if the process is stopped by a signal before it is done with it.
pub fn remove_if_stopped(path: &Path) {
    live().insert(path.to_path_buf());
}

/// Takes a file off the list of [`remove_if_stopped`].
pub fn keep_if_stopped(path: &Path) {
    live().remove(path);
}

/// Removes every listed file and returns the list's guard, so that no new temporary file can be
/// started until the process exits (call it just before exiting on a signal).
pub fn remove_temporaries() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    let guard = live();
    for p in guard.iter() {
        let _ = fs::remove_file(p);
    }
    guard
}

/// A file being written; it appears under its name only on [`AtomicFile::commit`].
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing `target` (its folder must exist).
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = target.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        // Listed before it exists, so a signal between the two cannot miss it.
        remove_if_stopped(&temp);
        let file = File::create(&temp).inspect_err(|_| keep_if_stopped(&temp))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
            writer: Some(BufWriter::new(file)),
        })
    }

    /// Flushes, syncs and renames the file into place; on failure the temporary file is removed.
    pub fn commit(mut self) -> io::Result<()> {
        let done = (|| {
            if let Some(w) = self.writer.take() {
                let file = w.into_inner().map_err(|e| e.into_error())?;
                file.sync_all()?;
            }
            fs::rename(&self.temp, &self.target)
        })();
        if done.is_err() {
            let _ = fs::remove_file(&self.temp);
        }
        keep_if_stopped(&self.temp);
        done
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.writer {
            Some(w) => w.write(buf),
            None => Err(io::Error::other("file already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.temp);
            keep_if_stopped(&self.temp);
        }
    }
}

/// Writes a whole file atomically.
pub fn write(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(target)?;
    f.write_all(bytes)?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.csv");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"half a file").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn unfinished_files_are_listed_for_removal_until_committed_or_dropped() {
        // Only this test's paths are looked at: other tests write files at the same time.
        let dir = tempfile::tempdir().unwrap();
        let listed = |f: &AtomicFile| live().contains(&f.temp);
        let mut half = AtomicFile::create(&dir.path().join("half.csv")).unwrap();
        half.write_all(b"half a file").unwrap();
        assert!(listed(&half));
        let temp = half.temp.clone();
        drop(half);
        assert!(!live().contains(&temp) && !temp.exists());
        let whole = AtomicFile::create(&dir.path().join("whole.csv")).unwrap();
        assert!(listed(&whole));
        let temp = whole.temp.clone();
        whole.commit().unwrap();
        assert!(!live().contains(&temp));
    }

    #[test]
    fn committed_file_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.csv");
        fs::write(&target, "old").unwrap();
        write(&target, b"new contents").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new contents");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
