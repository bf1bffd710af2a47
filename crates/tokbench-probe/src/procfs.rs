//! `/proc` text parsers: system CPU times, per-process CPU times, load
//! average, peak RSS.
//!
//! Units: `/proc/stat` counts in `USER_HZ` ticks and `/proc/<pid>/stat`
//! `utime`/`stime` in clock ticks (`sysconf(_SC_CLK_TCK)`), which Linux
//! defines to be the same unit (proc(5)), so the two can be subtracted
//! without knowing the tick rate.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::util::{read_opt, under};
use crate::ProbeError;

/// Aggregate CPU times from the `cpu ` line of `/proc/stat`, in ticks.
///
/// `guest` and `guest_nice` are already included in `user` and `nice`, so
/// they are not kept (counting them would count guest time twice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Normal user time.
    pub user: u64,
    /// Niced user time.
    pub nice: u64,
    /// Kernel time.
    pub system: u64,
    /// Idle time.
    pub idle: u64,
    /// Idle while waiting for I/O.
    pub iowait: u64,
    /// Hard interrupt time.
    pub irq: u64,
    /// Soft interrupt time.
    pub softirq: u64,
    /// Time stolen by the hypervisor for other guests.
    pub steal: u64,
}

impl CpuTimes {
    /// All ticks, busy and idle.
    pub fn total(&self) -> u64 {
        self.busy() + self.idle + self.iowait
    }

    /// Busy ticks: everything but `idle` and `iowait`. `steal` counts as
    /// busy: it is CPU time the host took away, i.e. interference.
    pub fn busy(&self) -> u64 {
        self.user + self.nice + self.system + self.irq + self.softirq + self.steal
    }
}

/// `/proc/stat`: aggregate times and the number of `cpuN` lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcStat {
    /// The `cpu ` line.
    pub cpu: CpuTimes,
    /// Number of per-CPU lines (online logical CPUs).
    pub logical_cpus: usize,
}

/// Parses `/proc/stat`.
///
/// # Errors
/// [`ProbeError::Parse`] when the `cpu ` line is missing or has fewer than
/// four numeric fields (kernels before 2.6 are not supported).
pub fn parse_proc_stat(text: &str) -> Result<ProcStat, ProbeError> {
    let mut cpu = None;
    let mut logical_cpus = 0;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        match fields.next() {
            Some("cpu") => {
                let nums: Vec<u64> = fields.map_while(|f| f.parse().ok()).collect();
                if nums.len() < 4 {
                    return Err(ProbeError::parse("/proc/stat", "short `cpu` line"));
                }
                let at = |i: usize| nums.get(i).copied().unwrap_or(0);
                cpu = Some(CpuTimes {
                    user: at(0),
                    nice: at(1),
                    system: at(2),
                    idle: at(3),
                    iowait: at(4),
                    irq: at(5),
                    softirq: at(6),
                    steal: at(7),
                });
            }
            Some(name) if name.starts_with("cpu") => logical_cpus += 1,
            _ => {}
        }
    }
    let cpu = cpu.ok_or_else(|| ProbeError::parse("/proc/stat", "no `cpu` line"))?;
    Ok(ProcStat { cpu, logical_cpus })
}

/// Busy share of all CPUs between two `/proc/stat` readings, in percent
/// (0–100). `None` when no tick elapsed or the counters went backwards.
pub fn busy_pct(before: &CpuTimes, after: &CpuTimes) -> Option<f64> {
    let total = after.total().checked_sub(before.total())?;
    let busy = after.busy().checked_sub(before.busy())?;
    (total > 0).then(|| 100.0 * busy as f64 / total as f64)
}

/// CPU times of one process from `/proc/<pid>/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessTimes {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// User time of all its threads.
    pub utime: u64,
    /// System time of all its threads.
    pub stime: u64,
    /// User time of waited-for children that exited.
    pub cutime: u64,
    /// System time of waited-for children that exited.
    pub cstime: u64,
}

impl ProcessTimes {
    /// `utime + stime`: this process's own CPU time.
    pub fn own_ticks(&self) -> u64 {
        self.utime + self.stime
    }
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses
/// and may itself contain spaces and `)`, so fields are counted from the
/// last `)`.
///
/// # Errors
/// [`ProbeError::Parse`] when the text is truncated or a field is not a number.
pub fn parse_pid_stat(text: &str) -> Result<ProcessTimes, ProbeError> {
    let bad = |m: &str| ProbeError::parse("/proc/<pid>/stat", m);
    let open = text.find('(').ok_or_else(|| bad("no `(`"))?;
    let close = text.rfind(')').ok_or_else(|| bad("no `)`"))?;
    let pid = text[..open]
        .trim()
        .parse()
        .map_err(|_| bad("pid is not a number"))?;
    // After ")": state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
    let rest: Vec<&str> = text
        .get(close + 1..)
        .unwrap_or("")
        .split_ascii_whitespace()
        .collect();
    let num = |field: usize| -> Result<u64, ProbeError> {
        rest.get(field - 3)
            .ok_or_else(|| bad("truncated"))?
            .parse::<i64>()
            .map(|v| v.max(0).unsigned_abs())
            .map_err(|_| bad("field is not a number"))
    };
    Ok(ProcessTimes {
        pid,
        ppid: u32::try_from(num(4)?).map_err(|_| bad("ppid out of range"))?,
        utime: num(14)?,
        stime: num(15)?,
        cutime: num(16)?,
        cstime: num(17)?,
    })
}

/// Load averages (runnable + uninterruptible tasks, exponentially averaged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadAvg {
    /// 1-minute average.
    pub one: f64,
    /// 5-minute average.
    pub five: f64,
    /// 15-minute average.
    pub fifteen: f64,
}

/// Parses `/proc/loadavg` (`0.52 0.58 0.59 1/467 12345`).
///
/// # Errors
/// [`ProbeError::Parse`] when the first three fields are not numbers.
pub fn parse_loadavg(text: &str) -> Result<LoadAvg, ProbeError> {
    let mut it = text.split_ascii_whitespace().map(str::parse::<f64>);
    let mut next = || {
        it.next()
            .and_then(Result::ok)
            .ok_or_else(|| ProbeError::parse("/proc/loadavg", "expected three numbers"))
    };
    Ok(LoadAvg {
        one: next()?,
        five: next()?,
        fifteen: next()?,
    })
}

/// Peak resident set size (`VmHWM`) from `/proc/<pid>/status` text, in
/// bytes. `None` when the line is absent (kernel threads, zombies).
pub fn parse_vm_hwm_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut parts = line["VmHWM:".len()..].split_ascii_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => value.checked_mul(1024),
        _ => None,
    }
}

/// Reads and parses `<root>/proc/stat`.
///
/// # Errors
/// [`ProbeError::Io`] or [`ProbeError::Parse`].
pub fn read_proc_stat(root: &Path) -> Result<ProcStat, ProbeError> {
    let path = under(root, "/proc/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| ProbeError::io(&path, e))?;
    parse_proc_stat(&text)
}

/// Reads `<root>/proc/loadavg`; `None` when unreadable or malformed.
pub fn read_loadavg(root: &Path) -> Option<LoadAvg> {
    parse_loadavg(&read_opt(&under(root, "/proc/loadavg"))?).ok()
}

/// Peak RSS of `pid` in bytes, from `<root>/proc/<pid>/status` `VmHWM`;
/// `None` when the process is gone or the field is missing.
pub fn read_peak_rss_bytes(root: &Path, pid: u32) -> Option<u64> {
    parse_vm_hwm_bytes(&read_opt(&under(root, &format!("/proc/{pid}/status")))?)
}

/// Own CPU ticks (`utime + stime`) of each of `pids` and, when
/// `include_descendants`, of every live descendant (found through the `ppid`
/// of all `/proc/<n>/stat` files). Processes that cannot be read (gone,
/// hidden) are left out.
pub fn read_tracked_ticks(
    root: &Path,
    pids: &[u32],
    include_descendants: bool,
) -> HashMap<u32, u64> {
    let read = |pid: u32| {
        read_opt(&under(root, &format!("/proc/{pid}/stat"))).and_then(|t| parse_pid_stat(&t).ok())
    };
    let mut out: HashMap<u32, u64> = pids
        .iter()
        .filter_map(|&p| read(p).map(|t| (p, t.own_ticks())))
        .collect();
    if !include_descendants {
        return out;
    }
    let Ok(entries) = std::fs::read_dir(under(root, "/proc")) else {
        return out;
    };
    let all: Vec<ProcessTimes> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(read)
        .collect();
    let mut tracked: HashSet<u32> = pids.iter().copied().collect();
    // Repeat until no new descendant appears (depth of the process tree).
    loop {
        let before = tracked.len();
        for p in &all {
            if tracked.contains(&p.ppid) && tracked.insert(p.pid) {
                out.insert(p.pid, p.own_ticks());
            }
        }
        if tracked.len() == before {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::util::testing::write_under as write;

    const STAT_A: &str = "cpu  100 10 50 800 40 0 0 0 5 0\ncpu0 50 5 25 400 20 0 0 0 0 0\n\
cpu1 50 5 25 400 20 0 0 0 0 0\nintr 12345\nctxt 999\n";
    const STAT_B: &str = "cpu  250 10 100 900 40 0 0 0 5 0\ncpu0 1 1 1 1 1 0 0 0 0 0\n\
cpu1 1 1 1 1 1 0 0 0 0 0\n";

    #[test]
    fn proc_stat_pair_gives_busy_pct() {
        let a = parse_proc_stat(STAT_A).unwrap();
        let b = parse_proc_stat(STAT_B).unwrap();
        assert_eq!(a.logical_cpus, 2);
        assert_eq!(a.cpu.busy(), 160);
        assert_eq!(a.cpu.total(), 1000);
        // busy +200 of total +300.
        let pct = busy_pct(&a.cpu, &b.cpu).unwrap();
        assert!((pct - 200.0 / 3.0).abs() < 1e-9, "{pct}");
        assert_eq!(busy_pct(&a.cpu, &a.cpu), None);
        assert_eq!(busy_pct(&b.cpu, &a.cpu), None);
    }

    #[test]
    fn steal_counts_as_busy_and_old_short_lines_parse() {
        let s = parse_proc_stat("cpu 1 2 3 4\n").unwrap();
        assert_eq!((s.cpu.busy(), s.cpu.total(), s.logical_cpus), (6, 10, 0));
        let v = parse_proc_stat("cpu 0 0 0 10 0 0 0 7\n").unwrap();
        assert_eq!(v.cpu.busy(), 7);
    }

    #[test]
    fn proc_stat_errors() {
        assert!(parse_proc_stat("intr 1\n").is_err());
        assert!(parse_proc_stat("cpu 1 2\n").is_err());
    }

    #[test]
    fn pid_stat_with_spaces_and_parens_in_comm() {
        let t = "4242 (llama server) (x)) S 1000 4242 4242 0 -1 4194560 5 0 0 0 \
                 321 123 7 3 20 0 9 0 1234 5678 90 18446744073709551615\n";
        let p = parse_pid_stat(t).unwrap();
        assert_eq!(
            p,
            ProcessTimes {
                pid: 4242,
                ppid: 1000,
                utime: 321,
                stime: 123,
                cutime: 7,
                cstime: 3
            }
        );
        assert_eq!(p.own_ticks(), 444);
        assert!(parse_pid_stat("12 (cat) R 1 2 3").is_err());
        assert!(parse_pid_stat("garbage").is_err());
    }

    #[test]
    fn loadavg_and_vm_hwm() {
        let l = parse_loadavg("1.58 0.93 0.39 2/98 12224\n").unwrap();
        assert_eq!((l.one, l.five, l.fifteen), (1.58, 0.93, 0.39));
        assert!(parse_loadavg("x").is_err());
        let status =
            "Name:\tllama-server\nVmPeak:\t 9000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(parse_vm_hwm_bytes(status), Some(123_456 * 1024));
        assert_eq!(parse_vm_hwm_bytes("Name:\tkthreadd\n"), None);
    }

    fn stat_line(pid: u32, ppid: u32, utime: u64, stime: u64) -> String {
        format!("{pid} (p{pid}) S {ppid} 1 1 0 -1 0 0 0 0 0 {utime} {stime} 0 0 20 0 1 0\n")
    }

    #[test]
    fn tracked_ticks_follow_descendants() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        write(r, "/proc/100/stat", &stat_line(100, 1, 10, 5)); // tracked
        write(r, "/proc/101/stat", &stat_line(101, 100, 3, 1)); // child
        write(r, "/proc/102/stat", &stat_line(102, 101, 2, 0)); // grandchild
        write(r, "/proc/200/stat", &stat_line(200, 1, 99, 99)); // unrelated
        write(r, "/proc/self/stat", "ignored");
        let only = read_tracked_ticks(r, &[100, 999], false);
        assert_eq!(only, HashMap::from([(100, 15)]));
        let all = read_tracked_ticks(r, &[100], true);
        assert_eq!(all, HashMap::from([(100, 15), (101, 4), (102, 2)]));
        write(r, "/proc/100/status", "VmHWM:\t 2 kB\n");
        assert_eq!(read_peak_rss_bytes(r, 100), Some(2048));
        assert_eq!(read_peak_rss_bytes(r, 101), None);
    }
}
