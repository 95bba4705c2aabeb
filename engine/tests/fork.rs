//! After `fork()`, the child pumps through a fresh reactor of its own and
//! the parent's engine keeps working. Its own test binary: forking a
//! process with other tests' threads in flight would be needlessly risky.

mod common;

use std::io::{Read, Write};

use common::{pipe, pump, spec};

/// Pump 5 bytes through the engine; true when they all arrived.
fn pump_hello() -> bool {
    let (in_r, mut in_w) = pipe();
    let (mut out_r, out_w) = pipe();
    in_w.write_all(b"hello").unwrap();
    drop(in_w);
    let ok = matches!(pump(spec(&in_r, &out_w)), Ok(5));
    drop(out_w);
    let mut got = Vec::new();
    out_r.read_to_end(&mut got).unwrap();
    ok && got == b"hello"
}

#[test]
fn child_gets_a_fresh_reactor_and_parent_is_unaffected() {
    assert!(pump_hello(), "parent before fork");
    // SAFETY: the child only pumps (allocation, thread creation, the
    // engine's lock-free global) and leaves with `_exit`, running no
    // destructor or atexit handler of the parent's state; SIGALRM ends it
    // should it hang.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: alarm takes an integer (a hang ends the child by
        // SIGALRM); `_exit` ends the child at once.
        unsafe {
            libc::alarm(20);
            libc::_exit(i32::from(!pump_hello()));
        }
    }
    let mut status = 0;
    // SAFETY: `status` is a writable int; `pid` is our own child.
    let rc = unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(rc, pid, "waitpid");
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child pump failed");
    assert!(pump_hello(), "parent after fork");
}

#[test]
fn a_child_never_takes_its_parents_doorbell_ring() {
    // The eventfd's counter is shared with a forked child: a child that
    // took the ring would leave the parent's queued completion unrung.
    use cuprum_engine::Doorbell;
    let doorbell = Doorbell::new().expect("eventfd");
    let (_op, completion) = doorbell.operation();
    completion.complete(0, Ok(3)); // queued, and rung
                                   // SAFETY: the child only takes from the doorbell (a lock no other
                                   // thread holds) and leaves with `_exit`; SIGALRM ends it should it hang.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let taken = doorbell.take().len();
        completion.complete(1, Ok(4)); // the child's own: rings nobody
                                       // SAFETY: as above.
        unsafe {
            libc::alarm(20);
            libc::_exit(i32::from(taken != 1 || doorbell.is_own()));
        }
    }
    let mut status = 0;
    // SAFETY: `status` is a writable int; `pid` is our own child.
    let rc = unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(rc, pid, "waitpid");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child saw {status:#x}");
    let mut ring = [libc::pollfd {
        fd: doorbell.fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: one valid pollfd, no wait.
    let ready = unsafe { libc::poll(ring.as_mut_ptr(), 1, 0) };
    assert_eq!(ready, 1, "the parent's ring was taken");
    let taken = doorbell.take();
    assert_eq!(taken.len(), 1);
    assert!(matches!(taken[0], (_, 0, Ok(3))));
}
