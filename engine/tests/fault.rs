//! An injected engine failure (the `fault-injection` feature) ends the
//! pair with `EngineError::Internal`, through the same clean-up as any end:
//! the caller's flags are restored and the engine serves the next pair. Its
//! own test binary: the switch is process-wide.

#![cfg(feature = "fault-injection")]

mod common;

use std::io::{Read, Write};

use common::{nonblocking, pipe, pump, spec};
use cuprum_engine::{fail_next_pairs, EngineError};

#[test]
fn an_injected_failure_fails_one_pair_and_the_next_one_runs() {
    // The source's write end stays open until after the failure, so the
    // pair is in the reactor (registered, made non-blocking) when it fails.
    let (src_r, mut src_w) = pipe();
    let (mut dst_r, dst_w) = pipe();
    fail_next_pairs(1);
    match pump(spec(&src_r, &dst_w)) {
        Err(EngineError::Internal(message)) => assert!(message.contains("injected"), "{message}"),
        other => panic!("expected an injected engine failure, got {other:?}"),
    }
    assert!(
        !nonblocking(&src_r) && !nonblocking(&dst_w),
        "flags restored"
    );
    src_w.write_all(b"after").expect("write");
    drop(src_w);
    assert_eq!(pump(spec(&src_r, &dst_w)).expect("the next pair runs"), 5);
    drop(dst_w);
    let mut moved = Vec::new();
    dst_r.read_to_end(&mut moved).expect("read");
    assert_eq!(moved, b"after");
}

#[test]
fn a_pair_whose_thread_panics_still_completes_once() {
    // A terminal end takes the blocking path: a thread of its own, where a
    // panic (an engine bug) once left the caller waiting for ever.
    let (_master, slave) = common::pty();
    let (src_r, src_w) = pipe();
    drop(src_w);
    cuprum_engine::panic_next_blocking_pairs(1);
    match pump(spec(&src_r, &slave)) {
        Err(EngineError::Internal(message)) => assert!(message.contains("lost"), "{message}"),
        other => panic!("expected the engine to report the lost pair, got {other:?}"),
    }
    assert_eq!(pump(spec(&src_r, &slave)).expect("the next pair runs"), 0);
}
