//! Pairs with a terminal end take the blocking path: the terminal is never
//! switched to non-blocking, data still flows, and cancel still works.

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;

use common::{is_open, nonblocking, payload, pipe, produce, pty, spec, GUARD};
use cuprum_engine::{BlockingWaiter, EngineError, Handle};

#[test]
fn pipe_to_terminal_never_switches_the_terminal() {
    let (mut master, slave) = pty();
    let (in_r, in_w) = pipe();
    let data = payload(20, 200_000);
    let producer = produce(in_w, data.clone());
    let slave_fd = slave.as_raw_fd();
    let consumer = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while out.len() < 200_000 {
            let n = master.read(&mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
            assert!(
                !cuprum_engine::is_nonblocking(slave_fd).unwrap(),
                "terminal switched to non-blocking"
            );
        }
        out
    });
    let waiter = BlockingWaiter::new(1);
    let _batch = Handle::global()
        .unwrap()
        .submit(vec![spec(&in_r, &slave)], Arc::clone(&waiter) as _);
    assert!(waiter.wait_all_timeout(GUARD));
    assert_eq!(waiter.take_results().pop().unwrap().unwrap(), 200_000);
    producer.join().unwrap();
    assert!(consumer.join().unwrap() == data);
    assert!(!nonblocking(&slave) && !nonblocking(&in_r));
}

#[test]
fn cancel_a_blocking_path_pair() {
    let (mut master, slave) = pty();
    let (mut out_r, out_w) = pipe();
    let waiter = BlockingWaiter::new(1);
    let batch = Handle::global()
        .unwrap()
        .submit(vec![spec(&slave, &out_w)], Arc::clone(&waiter) as _);
    // A byte through the pair proves it runs (and, the terminal still
    // open, that it has not finished) before it is cancelled.
    master.write_all(b"x").unwrap();
    let mut byte = [0u8; 1];
    out_r.read_exact(&mut byte).unwrap();
    assert_eq!(&byte, b"x");
    assert_eq!(waiter.remaining(), 1, "still running");
    batch.cancel();
    assert!(waiter.wait_all_timeout(GUARD));
    let result = waiter.take_results().pop().unwrap();
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    assert!(is_open(slave.as_raw_fd()) && is_open(out_w.as_raw_fd()));
    assert!(!nonblocking(&slave) && !nonblocking(&out_w));
}

#[test]
fn a_pseudo_terminals_master_is_read_itself() {
    // A terminal end is opened afresh on the blocking path, but not a pty's
    // master: an open of its device, /dev/ptmx, makes a new terminal.
    let (master, mut slave) = pty();
    let (mut out_r, out_w) = pipe();
    let waiter = BlockingWaiter::new(1);
    let _batch = Handle::global()
        .unwrap()
        .submit(vec![spec(&master, &out_w)], Arc::clone(&waiter) as _);
    slave.write_all(b"typed").unwrap();
    let mut got = [0u8; 5];
    out_r.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"typed");
    drop(slave); // the master then reads EIO: the pair ends
    assert!(waiter.wait_all_timeout(GUARD));
    let result = waiter.take_results().pop().unwrap();
    assert!(
        matches!(&result, Err(EngineError::Os(e)) if e.raw_os_error() == Some(libc::EIO)),
        "{result:?}"
    );
}
