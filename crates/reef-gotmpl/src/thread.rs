//! Helper threads that start on another processor than the thread that starts them.
//!
//! Linux puts a new thread on its parent's processor when that processor looks lightly used,
//! which it does to a process that has just been idle (a command run from a shell, a server
//! between requests): the scheduler's record of its use decays while it sleeps. The new thread
//! then waits there until the parent blocks or the load balancer moves it, which took 1.9 ms
//! median on a 2-processor virtual machine, with the other processor idle all along. A helper
//! meant to share a render's work of a few milliseconds would start when it is nearly over.
//! [`spawn`] asks for the thread to run elsewhere from the start (0.1 ms on the same machine),
//! then lets it run anywhere again.
//!
//! The prime search of RSA keys starts its helper this way: nginx's chart, which makes two
//! 2048-bit keys, rendered in 11.2 ms median instead of 12.4 (150 renders each, alternating,
//! each after a `helm template` run). The template parsers' helper does not: started early and
//! left to the scheduler ([`crate::template::WaitingHelper`]), kafka's chart rendered in 4.0 ms
//! against 4.3 with it started elsewhere.

// Rust's standard library starts threads but does not set another thread's processors, and
// the crates that wrap the system call set the calling thread's only.
#![cfg_attr(target_os = "linux", expect(unsafe_code, reason = "the processor-affinity system calls, through libc"))]

use std::io;
use std::thread::JoinHandle;

/// Starts `f` on a new thread named `name`, on another processor than the caller's if the
/// process may use one.
pub fn spawn<F, T>(name: &str, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    #[cfg(target_os = "linux")]
    return linux::spawn(name, f);
    #[cfg(not(target_os = "linux"))]
    return std::thread::Builder::new().name(name.to_owned()).spawn(f);
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::unix::thread::JoinHandleExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::thread::JoinHandle;

    /// Where the handover of a new thread's processors stands.
    const UNSET: u8 = 0;
    /// The parent is restricting the thread's processors.
    const SETTING: u8 = 1;
    /// The parent has restricted them: the thread widens them again.
    const SET: u8 = 2;
    /// The thread ran before the parent restricted anything: nothing is to be done.
    const RUNNING: u8 = 3;

    pub(super) fn spawn<F, T>(name: &str, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let Some((allowed, elsewhere)) = processors() else {
            return std::thread::Builder::new().name(name.to_owned()).spawn(f);
        };
        let state = Arc::new(AtomicU8::new(UNSET));
        let theirs = state.clone();
        let handle = std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            if theirs.compare_exchange(UNSET, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_err() {
                // The parent is restricting this thread's processors, or has: once it has,
                // this thread may run anywhere the process may again.
                while theirs.load(Ordering::Acquire) != SET {
                    std::hint::spin_loop();
                }
                // SAFETY: `allowed` is a valid set of its own size; 0 is the calling thread.
                unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &allowed) };
            }
            f()
        })?;
        if state.compare_exchange(UNSET, SETTING, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // SAFETY: the handle's thread has not been joined or detached (it is this
            // function's), so its pthread_t is valid; `elsewhere` is a valid set of its size.
            // A failure (the thread has ended) leaves it where it was.
            unsafe {
                libc::pthread_setaffinity_np(handle.as_pthread_t(), std::mem::size_of::<libc::cpu_set_t>(), &elsewhere)
            };
            state.store(SET, Ordering::Release);
        }
        Ok(handle)
    }

    /// The processors the calling thread may run on, and those of them other than the one it
    /// runs on now; `None` when there is no other.
    fn processors() -> Option<(libc::cpu_set_t, libc::cpu_set_t)> {
        // SAFETY: an all-zero cpu_set_t is the empty set.
        let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `allowed` is writable and of the size given; 0 is the calling thread.
        if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) } != 0 {
            return None;
        }
        // SAFETY: no arguments; it returns -1 on failure.
        let current = usize::try_from(unsafe { libc::sched_getcpu() }).ok()?;
        let mut elsewhere = allowed;
        if current < libc::CPU_SETSIZE as usize {
            // SAFETY: `current` is below the set's size.
            unsafe { libc::CPU_CLR(current, &mut elsewhere) };
        }
        // SAFETY: `elsewhere` is a valid set.
        (unsafe { libc::CPU_COUNT(&elsewhere) } > 0).then_some((allowed, elsewhere))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_helper_runs_its_work_and_may_then_run_on_any_processor_the_process_may() {
        let out = spawn("reef-test", || 6 * 7).expect("starts").join().expect("runs");
        assert_eq!(out, 42);
        #[cfg(target_os = "linux")]
        {
            // The processors a thread may use, as a list.
            fn allowed() -> Vec<usize> {
                // SAFETY: as in `processors`.
                let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
                // SAFETY: as in `processors`.
                assert_eq!(unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) }, 0);
                // SAFETY: every index is below the set's size.
                (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect()
            }
            let ours = allowed();
            for _ in 0..20 {
                let (first, later) = spawn("reef-test", || {
                    let first = allowed();
                    // Long enough for the parent to have restricted it, if it had not before.
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    (first, allowed())
                })
                .expect("starts")
                .join()
                .expect("runs");
                assert!(first.iter().all(|c| ours.contains(c)), "{first:?} outside {ours:?}");
                assert_eq!(later, ours, "the helper stays restricted");
            }
        }
    }
}
