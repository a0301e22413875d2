//! The few operating-system calls the standard library does not wrap: effective user id,
//! signals to child processes, and a parent-death signal for the embedded PostgreSQL.
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
