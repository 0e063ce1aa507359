//! One writer per output folder: a command that writes results holds an OS lock (flock) on
//! `<out>/.csmarket.lock` while it runs, so a second process aimed at the same `--out` is refused,
//! naming the holder, instead of tearing `replications.csv` or mixing the files of two runs. The
//! kernel releases the lock when the holder dies, so a killed run never leaves a stale lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs4::FileExt;

/// The lock file in an output folder.
pub const LOCK_FILE: &str = ".csmarket.lock";
/// Folders below the output folder searched for temporary files a killed run left.
const CLEAN_DEPTH: usize = 4;

/// Why an output folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the folder.
    #[error(
        "{dir} is being written by another csmarket process ({holder}); wait for it to finish, \
         or write to another --out"
    )]
    Held {
        /// The output folder.
        dir: String,
        /// Who holds it: pid, host and command line, as the holder wrote them.
        holder: String,
    },
    /// The folder or its lock file could not be created or locked.
    #[error("cannot {action} {file}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        file: String,
        /// Cause.
        source: io::Error,
    },
}

/// The lock on an output folder, held until dropped; dropping it removes the lock file.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
    cleaned: Vec<PathBuf>,
}

fn io_at<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> LockError + 'a {
    move |source| LockError::Io {
        action,
        file: path.display().to_string(),
        source,
    }
}

/// This machine's name, where the system says.
fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown host".into())
}

/// Whether an open file is still the one at `path` (a holder removes the lock file on exit, so
/// a file opened just before that is no longer the folder's lock).
fn still_at(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

impl OutputLock {
    /// Creates the output folder if need be and locks it for this process, recording its pid,
    /// host and `command_line` for whoever is refused; then removes temporary files a killed run
    /// left in it (no other csmarket can be writing them now).
    pub fn acquire(dir: &Path, command_line: &[String]) -> Result<OutputLock, LockError> {
        fs::create_dir_all(dir).map_err(io_at("create output folder", dir))?;
        let path = dir.join(LOCK_FILE);
        let mut file = loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_at("create lock file", &path))?;
            match FileExt::try_lock(&file) {
                Ok(()) if still_at(&file, &path) => break file,
                Ok(()) => continue,
                Err(fs4::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    // Unreadable or not yet written: the refusal still stands.
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.lines().collect::<Vec<_>>().join(", ");
                    return Err(LockError::Held {
                        dir: dir.display().to_string(),
                        holder: if holder.is_empty() {
                            "it has not yet said who it is".into()
                        } else {
                            holder
                        },
                    });
                }
                Err(fs4::TryLockError::Error(e)) => return Err(io_at("lock", &path)(e)),
            }
        };
        let about = format!(
            "pid {}\nhost {}\ncommand {}\n",
            std::process::id(),
            host_name(),
            shell_words(command_line)
        );
        let write = |f: &mut File| -> io::Result<()> {
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
            f.write_all(about.as_bytes())?;
            f.flush()
        };
        write(&mut file).map_err(io_at("write lock file", &path))?;
        super::atomic::remove_if_stopped(&path);
        let mut cleaned = Vec::new();
        remove_temporaries(dir, CLEAN_DEPTH, &mut cleaned);
        Ok(OutputLock {
            file,
            path,
            cleaned,
        })
    }

    /// Temporary files of a killed run that were removed when the lock was taken.
    pub fn cleaned(&self) -> &[PathBuf] {
        &self.cleaned
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked, so no one can take a lock on a file about to vanish
        // without noticing (see `still_at`).
        let _ = fs::remove_file(&self.path);
        super::atomic::keep_if_stopped(&self.path);
        let _ = FileExt::unlock(&self.file);
    }
}

/// A command line as a shell would need it typed: words with anything but letters, digits and
/// `-_./:=,+@%` are single-quoted.
pub fn shell_words(words: &[String]) -> String {
    let quote = |w: &String| {
        let plain = !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,+@%".contains(&b));
        if plain {
            w.clone()
        } else {
            format!("'{}'", w.replace('\'', "'\\''"))
        }
    };
    words.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// Whether a file name is one of csmarket's temporary files (`.<name>.partial-<pid>`).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        && name
            .rsplit_once(".partial-")
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes csmarket temporary files in `dir` and its folders down to `depth`.
fn remove_temporaries(dir: &Path, depth: usize, removed: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && depth > 0 {
            remove_temporaries(&path, depth - 1, removed);
        } else if kind.is_file()
            && is_temporary(&entry.file_name().to_string_lossy())
            && fs::remove_file(&path).is_ok()
        {
            removed.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_folder_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let argv = ["csmarket".to_string(), "run".into(), "--out".into()];
        let held = OutputLock::acquire(&out, &argv).unwrap();
        let e = OutputLock::acquire(&out, &argv).unwrap_err().to_string();
        assert!(
            e.contains(&format!("pid {}", std::process::id())),
            "names the pid: {e}"
        );
        assert!(e.contains("command csmarket run --out"), "{e}");
        drop(held);
        assert!(
            !out.join(LOCK_FILE).exists(),
            "the lock file goes with the lock"
        );
        OutputLock::acquire(&out, &argv).unwrap();
    }

    #[test]
    fn command_lines_are_quoted_for_the_shell() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shell_words(&w(&[
                "csmarket", "run", "-n", "5", "--out", "a b", "it's", ""
            ])),
            "csmarket run -n 5 --out 'a b' 'it'\\''s' ''"
        );
    }

    #[test]
    fn temporaries_of_a_killed_run_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("local/.progress");
        fs::create_dir_all(&deep).unwrap();
        for f in [
            "local/.providers.csv.partial-123",
            "local/.progress/.state.json.partial-9",
            "local/providers.csv",
            "local/.progress/replications.csv",
            ".notes.partial-draft",
        ] {
            fs::write(dir.path().join(f), "x").unwrap();
        }
        let lock = OutputLock::acquire(dir.path(), &[]).unwrap();
        assert_eq!(lock.cleaned().len(), 2, "{:?}", lock.cleaned());
        assert!(dir.path().join("local/providers.csv").exists());
        assert!(dir.path().join("local/.progress/replications.csv").exists());
        assert!(dir.path().join(".notes.partial-draft").exists());
        assert!(!deep.join(".state.json.partial-9").exists());
    }
}
