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

#[test]
fn a_pair_that_cannot_be_handed_over_still_delivers_every_byte() {
    // Inline, a file's bytes go into the ring and the sink (a full pipe)
    // would make the pair wait: it is handed to the engine, which takes
    // duplicates; that fails as if out of descriptors. The ring's bytes once
    // went with the error; the pair must end here, every byte delivered.
    use std::os::fd::AsRawFd;
    let path = std::env::temp_dir().join(format!("cuprum-own-{}", std::process::id()));
    let sent = common::payload(4, 3000);
    std::fs::write(&path, &sent).unwrap();
    let source = std::fs::File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (mut sink_r, mut sink_w) = pipe();
    common::set_nonblocking(&sink_w, true);
    let mut filler = 0;
    while let Ok(n) = sink_w.write(&[b'f'; 4096]) {
        filler += n;
    }
    common::set_nonblocking(&sink_w, false);
    let (mut notice_r, notice_w) = pipe();
    cuprum_engine::fail_next_own(1, notice_w.as_raw_fd());
    let drainer = std::thread::spawn(move || {
        let mut said = [0_u8; 11];
        notice_r.read_exact(&mut said).unwrap(); // only then make room
        assert_eq!(&said, b"own failed\n");
        let mut got = Vec::new();
        sink_r.read_to_end(&mut got).unwrap();
        got
    });
    let started = cuprum_engine::Handle::global().expect("engine").start_one(
        spec(&source, &sink_w),
        cuprum_engine::CompletionQueue::new(1),
    );
    drop(sink_w);
    let got = drainer.join().unwrap();
    let cuprum_engine::Started::Finished(result) = started else {
        panic!("the pair was handed over after all");
    };
    assert_eq!(result.expect("delivered"), 3000);
    assert_eq!(got.len(), filler + 3000);
    assert!(got[filler..] == sent[..], "the ring's bytes were lost");
}
