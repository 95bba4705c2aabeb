//! With `SIGPIPE` at its default disposition (terminate), a broken
//! downstream is still just `EPIPE` for the engine: the process survives.
//! Its own test binary, because it changes a process-wide disposition.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{payload, pipe, produce, pty, pump, spec};
use cuprum_engine::PairSpec;

fn default_sigpipe() {
    // SAFETY: installing SIG_DFL for SIGPIPE involves no handler code.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
}

#[test]
fn broken_pipe_does_not_kill_the_process() {
    default_sigpipe();
    let (in_r, in_w) = pipe();
    let (out_r, out_w) = pipe();
    drop(out_r);
    let data = payload(30, 300_000);
    let producer = produce(in_w, data.clone());
    assert_eq!(pump(spec(&in_r, &out_w)).unwrap(), 0);
    assert_eq!(producer.join().unwrap(), data.len());
}

#[test]
fn broken_pipe_on_the_blocking_path_does_not_kill_the_process() {
    default_sigpipe();
    // A terminal reader sends the pair down the blocking path (its own
    // thread); the terminal never ends, so the drain is bounded to zero.
    let (mut master, slave) = pty();
    master.write_all(b"data").unwrap();
    let (out_r, out_w) = pipe();
    drop(out_r);
    let result = pump(PairSpec {
        drain_timeout: Some(Duration::ZERO),
        ..spec(&slave, &out_w)
    });
    assert_eq!(result.unwrap(), 0);
}
