//! A report write killed at any moment (SIGKILL, no chance to clean up) leaves the reader
//! either the old report or the whole new one, never a torn one. The writer runs in a forked
//! child that is killed after a chosen delay, from before the write starts to after it ends.

use std::time::{Duration, Instant};

use restore_drill::report::write_atomic;

#[test]
fn a_report_write_killed_at_any_moment_is_old_or_new_never_torn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let old = b"{\"old\":true}".to_vec();
    // Large enough that the write takes a while.
    let new: Vec<u8> = (0..64u32 << 20).map(|i| (i % 251) as u8).collect();
    let (mut saw_old, mut saw_new) = (0, 0);
    for delay_us in [
        0u64, 200, 1_000, 3_000, 10_000, 30_000, 80_000, 200_000, 1_000_000, 10_000_000,
    ] {
        write_atomic(&path, &old).unwrap();
        // SAFETY: the child only writes a file and exits; it touches no lock the parent's
        // other threads could hold (the buffer is already allocated).
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = if write_atomic(&path, &new).is_ok() {
                0
            } else {
                1
            };
            unsafe { libc::_exit(code) };
        }
        let t0 = Instant::now();
        let mut status = 0;
        let mut exited = false;
        while t0.elapsed() < Duration::from_micros(delay_us) {
            // A long delay ends early when the writer is done anyway.
            if delay_us > 5_000 {
                exited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid;
                if exited {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            } else {
                std::hint::spin_loop();
            }
        }
        if !exited {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
        }
        let now = std::fs::read(&path).unwrap();
        if now == old {
            saw_old += 1;
        } else if now == new {
            saw_new += 1;
        } else {
            panic!(
                "killed after {delay_us} µs: report.json is torn ({} bytes)",
                now.len()
            );
        }
    }
    // Both outcomes happened, so the kills really landed before and after the rename.
    assert!(saw_old > 0, "no kill landed before the rename");
    assert!(saw_new > 0, "no write finished before its kill");
}
