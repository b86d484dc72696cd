//! Process measurements read from Linux's `/proc`: CPU time (of the whole
//! process or of the calling thread) and resident memory (of this process
//! or another one). No libc needed.

use anyhow::{anyhow, Context, Result};

/// Clock ticks per second of the times in `/proc/*/stat` (USER_HZ, 100 on
/// every Linux architecture we run on; `getconf CLK_TCK` would confirm).
const TICKS_PER_S: f64 = 100.0;

/// User plus system CPU seconds from a `stat` file's text.
fn cpu_from_stat(text: &str) -> Result<f64> {
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields from the last ')'.
    let rest = text
        .rfind(')')
        .map(|i| &text[i + 1..])
        .ok_or_else(|| anyhow!("unexpected stat format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state (3), ppid (4), ... utime is field 14, stime 15.
    let field = |n: usize| -> Result<f64> {
        fields
            .get(n - 3)
            .ok_or_else(|| anyhow!("stat has no field {n}"))?
            .parse::<f64>()
            .with_context(|| format!("stat field {n}"))
    };
    Ok((field(14)? + field(15)?) / TICKS_PER_S)
}

/// CPU seconds (user + system) the whole process has used.
pub fn process_cpu_s() -> Result<f64> {
    cpu_from_stat(&std::fs::read_to_string("/proc/self/stat")?)
}

/// CPU seconds (user + system) another process has used.
pub fn pid_cpu_s(pid: u32) -> Result<f64> {
    cpu_from_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat"))?)
}

/// CPU seconds (user + system) the calling thread has used.
pub fn thread_cpu_s() -> Result<f64> {
    cpu_from_stat(&std::fs::read_to_string("/proc/thread-self/stat")?)
}

/// A `kB` figure of `/proc/self/status` (`VmHWM`, `VmRSS`), in MiB.
fn status_mb(name: &str) -> Result<f64> {
    status_file_mb("/proc/self/status", name)
}

/// A `kB` figure of a `status` file, in MiB.
fn status_file_mb(path: &str, name: &str) -> Result<f64> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let line = text
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(':'))
        .ok_or_else(|| anyhow!("no {name} in {path}"))?;
    let kb: f64 = line[name.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("parsing {name}"))?;
    Ok(kb / 1024.0)
}

/// The peak resident set size so far (VmHWM), in MiB.
pub fn peak_rss_mb() -> Result<f64> {
    status_mb("VmHWM")
}

/// The current resident set size (VmRSS), in MiB.
pub fn rss_mb() -> Result<f64> {
    status_mb("VmRSS")
}

/// The current resident set size (VmRSS) of another process, in MiB.
pub fn pid_rss_mb(pid: u32) -> Result<f64> {
    status_file_mb(&format!("/proc/{pid}/status"), "VmRSS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_found_after_a_name_with_spaces() {
        let line = "42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(cpu_from_stat(line).unwrap(), 3.0);
        assert!(process_cpu_s().unwrap() >= 0.0);
        assert!(thread_cpu_s().unwrap() >= 0.0);
        assert!(peak_rss_mb().unwrap() >= rss_mb().unwrap() * 0.5);
        assert!(pid_rss_mb(std::process::id()).unwrap() > 0.0);
    }
}
