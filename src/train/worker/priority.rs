//! The CPU priority of the threads that train beside the window.

/// How much less CPU priority (nice) the worker and the threads it starts get than the
/// window: with both cores training, the window's thread still gets a core when it needs
/// one, so frames stay smooth.
const WORKER_NICENESS: i32 = 5;

/// Lowers the calling thread's scheduling priority by [`WORKER_NICENESS`]; threads it
/// starts inherit it (step helpers, thread pools, race variants, sweep points). For every
/// thread that trains beside the window. Best effort: does nothing where unsupported.
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread (on Linux, PRIO_PROCESS with id 0
        // addresses the calling thread). Failure only leaves the priority as it was.
        unsafe {
            let now = libc::getpriority(libc::PRIO_PROCESS, 0);
            libc::setpriority(libc::PRIO_PROCESS, 0, now + WORKER_NICENESS);
        }
    }
}
