//! A read of the blocking path robbed of its readiness (another reader of
//! the same terminal took the bytes between the engine's `poll` and its
//! read) never blocks past a cancel (behaviour 3.8). Its own test binary:
//! the fault switch is process-wide.

#![cfg(all(feature = "fault-injection", linux_calls))] // off Linux the window stays (design 13.1a)

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;

use common::{pipe, pty, spec, GUARD};
use cuprum_engine::{steal_next_reads, BlockingWaiter, EngineError, Handle};

#[test]
fn a_second_reader_taking_the_readiness_holds_no_cancel() {
    let (mut master, slave) = pty();
    let (_out_r, out_w) = pipe();
    let (mut notice_r, notice_w) = pipe();
    steal_next_reads(1, notice_w.as_raw_fd());
    let waiter = BlockingWaiter::new(1);
    let batch = Handle::global()
        .expect("engine")
        .submit(vec![spec(&slave, &out_w)], Arc::clone(&waiter) as _);
    master.write_all(b"x").expect("write");
    let mut notice = [0u8; 7];
    notice_r.read_exact(&mut notice).expect("notice");
    assert_eq!(&notice, b"stolen\n");
    batch.cancel();
    let ended = waiter.wait_all_timeout(GUARD);
    // A read that did block (the failure) returns on the next byte.
    master.write_all(b"y").expect("write");
    assert!(ended, "the cancel waited for a read robbed of its byte");
    let result = waiter.take_results().pop().expect("one result");
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
}
