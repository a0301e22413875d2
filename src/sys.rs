//! The few operating-system calls the standard library does not wrap: effective user id,
//! signals to child processes, a parent-death signal for the embedded PostgreSQL, a
//! thread's CPU time (for the password hasher), and fewer malloc arenas.
#![allow(unsafe_code)]

use std::io;
use std::process::Command;

/// The effective user id of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Sends `signal` to process `pid`. `Ok(())` also when the process exists but belongs to
/// another user (EPERM): the caller only wants to know whether it is alive.
pub fn signal(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: kill(2) takes plain integers; a wrong pid yields an error, not UB.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EPERM) {
        Ok(())
    } else {
        Err(err)
    }
}

pub use libc::{SIGINT, SIGQUIT};

/// Makes the kernel send SIGINT (PostgreSQL's "fast shutdown") to the spawned process
/// when the thread that spawned it dies, so a crashed PortalOps never leaves a server behind.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGINT as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// CPU time used by the calling thread so far (zero if the clock cannot be read): the
/// password hasher rests in proportion to the CPU it used, not to the wall time it took.
pub fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Keeps glibc's malloc from holding memory the server no longer uses. By default it keeps
/// up to eight arenas per core, one per busy thread, each keeping what its thread freed:
/// after a burst of large pages (a printed register is 0.5 MB of HTML) the server held
/// 100 MB. Two arenas let every thread reuse the same freed memory. And a fixed mmap
/// threshold of 1 MiB (glibc otherwise raises it to the largest block freed) gives the
/// 19 MiB of each argon2 hash back to the system when the hash is done.
/// Call first thing in `main`, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_malloc_arenas() {
    // SAFETY: mallopt only changes allocator tuning; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_malloc_arenas() {}
