//! Signals to a process group and whether any of its members still run.
//!
//! Liveness ignores zombies: in containers whose init does not reap
//! orphans, a killed grandchild stays a zombie forever, and `kill(-pgid, 0)`
//! alone would report the group as alive.

use rustix::io::Errno;
use rustix::process::{kill_process_group, test_kill_process_group, Pid, Signal};

/// Sends `sig` to every process in group `pgid`. A group that no longer
/// exists is not an error.
pub(crate) fn signal(pgid: u32, sig: Signal) -> std::io::Result<()> {
    let Some(pid) = to_pid(pgid) else {
        return Ok(());
    };
    match kill_process_group(pid, sig) {
        Ok(()) | Err(Errno::SRCH) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Whether group `pgid` has a member that is not a zombie.
pub fn has_live_members(pgid: u32) -> bool {
    let Some(pid) = to_pid(pgid) else {
        return false;
    };
    if test_kill_process_group(pid) == Err(Errno::SRCH) {
        return false;
    }
    live_members_from_proc(pgid).unwrap_or(true)
}

fn to_pid(pgid: u32) -> Option<Pid> {
    // pgid 0 or 1 would signal our own group or init: never do that.
    i32::try_from(pgid)
        .ok()
        .filter(|&p| p > 1)
        .and_then(Pid::from_raw)
}

/// `Some(true)` when `/proc` shows a non-zombie member of `pgid`,
/// `None` when `/proc` cannot be read (non-Linux).
fn live_members_from_proc(pgid: u32) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let live = entries.flatten().any(|entry| {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|s| parse_stat(&s))
            .is_some_and(|(state, pgrp)| pgrp == pgid && !is_dead_state(state))
    });
    Some(live)
}

/// `(state, pgrp)` from the text of `/proc/PID/stat`; the command name may
/// contain spaces and parentheses, so fields are read after the last `)`.
pub fn parse_stat(stat: &str) -> Option<(char, u32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// Whether a `/proc/PID/stat` state letter is a zombie (`Z`) or a dead
/// process (`X`, `x`).
fn is_dead_state(state: char) -> bool {
    matches!(state, 'Z' | 'X' | 'x')
}

/// Whether process `pid` exists and is not a zombie (Linux `/proc`; on
/// other systems, whether it exists).
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => parse_stat(&s).is_some_and(|(state, _)| !is_dead_state(state)),
        Err(_) if std::path::Path::new("/proc/self/stat").exists() => false,
        Err(_) => i32::try_from(pid)
            .ok()
            .and_then(Pid::from_raw)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_stat_handles_odd_command_names() {
        let s = "4500 (sleep) Z 1 4497 4497 0 -1 4194316 0 0";
        assert_eq!(parse_stat(s), Some(('Z', 4497)));
        let odd = "77 (a) b (c) S 5 1234 1234 0";
        assert_eq!(parse_stat(odd), Some(('S', 1234)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) R 0"), None);
    }

    #[test]
    fn our_own_group_is_alive_and_a_bogus_one_is_not() {
        let me = std::process::id();
        assert!(is_alive(me));
        let own_group = rustix::process::getpgrp().as_raw_nonzero().get();
        assert!(has_live_members(u32::try_from(own_group).unwrap()));
        assert!(!has_live_members(0) && !has_live_members(1));
        assert!(!is_alive(u32::MAX - 1));
    }
}
