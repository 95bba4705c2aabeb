//! The engine over real pipes, files and sockets: EOF, backpressure, broken
//! downstream, drain bound, always-ready descriptors, validation errors,
//! cancellation, flags and ownership.

mod common;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    consume, is_open, nonblocking, payload, pipe, produce, pump, pump_all, set_nonblocking, spec,
    GUARD,
};
use cuprum_engine::{BlockingWaiter, EngineError, Handle, PairSpec, Started};

#[test]
fn eof_returns_the_byte_count() {
    let (in_r, in_w) = pipe();
    let (out_r, out_w) = pipe();
    let data = payload(1, 3 * 1024 * 1024 + 17);
    let producer = produce(in_w, data.clone());
    let consumer = consume(out_r);
    let result = pump(spec(&in_r, &out_w));
    drop(out_w);
    assert_eq!(result.unwrap(), data.len() as u64);
    assert_eq!(producer.join().unwrap(), data.len());
    assert!(consumer.join().unwrap() == data, "bytes differ");
    assert!(!nonblocking(&in_r));
}

#[test]
fn empty_input_returns_zero() {
    let (in_r, in_w) = pipe();
    let (_out_r, out_w) = pipe();
    drop(in_w);
    assert_eq!(pump(spec(&in_r, &out_w)).unwrap(), 0);
}

#[test]
fn slow_consumer_applies_backpressure() {
    let (in_r, mut in_w) = pipe();
    let (mut out_r, out_w) = pipe();
    let total = 2 * 1024 * 1024;
    let data = payload(2, total);
    let progress = Arc::new(AtomicU64::new(0));
    let writer_thread = {
        let produced = Arc::clone(&progress);
        let data = data.clone();
        std::thread::spawn(move || {
            for chunk in data.chunks(4096) {
                // Counted before the write, so the count is never behind
                // what the consumer can have seen.
                produced.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                in_w.write_all(chunk).unwrap();
            }
        })
    };
    let reader_thread = {
        let produced = Arc::clone(&progress);
        std::thread::spawn(move || {
            // Two pipes and one ring sit between producer and consumer; the
            // producer can never be further ahead than that (plus the chunk
            // it is writing, plus slack for a larger pipe size).
            let bound = 4 * 65536 + 4096;
            let mut out = Vec::new();
            let mut buf = [0u8; 1024];
            let mut max_lead = 0;
            loop {
                let n = out_r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
                let lead = produced.load(Ordering::SeqCst) - out.len() as u64;
                max_lead = max_lead.max(lead);
                assert!(lead <= bound, "producer ran {lead} bytes ahead");
                std::thread::yield_now();
            }
            (out, max_lead)
        })
    };
    let result = pump(spec(&in_r, &out_w));
    drop(out_w);
    assert_eq!(result.unwrap(), total as u64);
    writer_thread.join().unwrap();
    let (out, _max_lead) = reader_thread.join().unwrap();
    assert!(out == data);
}

#[test]
fn broken_downstream_drains_the_reader_and_reports_bytes_written() {
    let (in_r, in_w) = pipe();
    let (out_r, out_w) = pipe();
    drop(out_r);
    let data = payload(3, 1024 * 1024);
    let producer = produce(in_w, data.clone());
    let result = pump(spec(&in_r, &out_w));
    assert_eq!(result.unwrap(), 0);
    // The producer was never left blocked on a full pipe.
    assert_eq!(producer.join().unwrap(), data.len());
    assert!(is_open(in_r.as_raw_fd()) && is_open(out_w.as_raw_fd()));
    assert!(!nonblocking(&in_r) && !nonblocking(&out_w));
}

#[test]
fn broken_downstream_after_partial_read_counts_what_was_written() {
    let (in_r, in_w) = pipe();
    let (mut out_r, out_w) = pipe();
    let data = payload(4, 4 * 1024 * 1024);
    let producer = produce(in_w, data.clone());
    let reader = std::thread::spawn(move || {
        let mut head = vec![0u8; 10_000];
        out_r.read_exact(&mut head).unwrap();
        head
        // `out_r` closes here: the downstream leaves early.
    });
    let written = pump(spec(&in_r, &out_w)).unwrap();
    let head = reader.join().unwrap();
    assert_eq!(head, data[..10_000]);
    assert!(
        written >= 10_000 && written < data.len() as u64,
        "{written}"
    );
    assert_eq!(producer.join().unwrap(), data.len());
}

#[test]
fn drain_timeout_bounds_the_drain_of_an_endless_upstream() {
    let (in_r, mut in_w) = pipe();
    let (out_r, out_w) = pipe();
    drop(out_r);
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let chunk = [7u8; 4096];
            // Endless until its reader goes away (EPIPE; the test harness
            // ignores SIGPIPE) or the test says stop.
            while !stop.load(Ordering::Relaxed) && in_w.write_all(&chunk).is_ok() {}
        })
    };
    let result = pump(PairSpec {
        drain_timeout: Some(Duration::from_millis(100)),
        ..spec(&in_r, &out_w)
    });
    assert_eq!(result.unwrap(), 0);
    stop.store(true, Ordering::Relaxed);
    drop(in_r);
    producer.join().unwrap();
}

#[test]
fn zero_drain_timeout_stops_at_the_break() {
    // The upstream never ends (its write end stays open) and the downstream
    // is gone: with a zero drain bound the pump ends at the first EPIPE.
    let (feed_r, mut feed_w) = pipe();
    let (out_r, out_w) = pipe();
    drop(out_r);
    feed_w.write_all(b"hello").unwrap();
    let result = pump(PairSpec {
        drain_timeout: Some(Duration::ZERO),
        ..spec(&feed_r, &out_w)
    });
    assert_eq!(result.unwrap(), 0);
    drop(feed_w);
}

/// A connected loopback pair: (the engine's side, the peer).
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (peer, _) = listener.accept().unwrap();
    (ours, peer)
}

/// Close `sock` with `SO_LINGER` 0, so the kernel sends RST.
fn reset(sock: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` is a valid `struct linger` of the size passed, and
    // `sock` is an open socket.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::linger>()).expect("small"),
        )
    };
    assert_eq!(rc, 0);
    drop(sock);
}

#[test]
fn connection_reset_writer_drains_like_a_broken_pipe() {
    let (ours, peer) = tcp_pair();
    // Make sure the RST has arrived: a read on our side reports it.
    reset(peer);
    let mut probe = ours.try_clone().unwrap();
    let mut byte = [0u8; 1];
    let err = probe.read(&mut byte).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECONNRESET));
    let (in_r, in_w) = pipe();
    let data = payload(5, 512 * 1024);
    let producer = produce(in_w, data.clone());
    let result = pump(spec(&in_r, &ours));
    assert_eq!(result.unwrap(), 0);
    assert_eq!(producer.join().unwrap(), data.len());
    assert!(!nonblocking(&ours));
}

#[test]
fn connection_reset_reader_fails_with_econnreset_and_restores_flags() {
    let (ours, peer) = tcp_pair();
    let (_out_r, out_w) = pipe();
    let waiter = BlockingWaiter::new(1);
    let _batch = Handle::global()
        .unwrap()
        .submit(vec![spec(&ours, &out_w)], Arc::clone(&waiter) as _);
    reset(peer);
    assert!(waiter.wait_all_timeout(GUARD));
    let err = waiter.take_results().pop().unwrap().unwrap_err();
    assert_eq!(err.errno(), Some(libc::ECONNRESET), "{err}");
    assert!(!nonblocking(&ours) && !nonblocking(&out_w));
    assert!(is_open(ours.as_raw_fd()) && is_open(out_w.as_raw_fd()));
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cuprum-engine-{}-{name}", std::process::id()))
}

#[test]
fn regular_file_to_pipe() {
    let path = temp_path("file-to-pipe");
    let data = payload(6, 1024 * 1024 + 3);
    std::fs::write(&path, &data).unwrap();
    let file = File::open(&path).unwrap();
    let (out_r, out_w) = pipe();
    let consumer = consume(out_r);
    let result = pump(spec(&file, &out_w));
    drop(out_w);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(result.unwrap(), data.len() as u64);
    assert!(consumer.join().unwrap() == data);
}

#[test]
fn pipe_to_regular_file() {
    let path = temp_path("pipe-to-file");
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let (in_r, in_w) = pipe();
    let data = payload(7, 1024 * 1024 + 5);
    let producer = produce(in_w, data.clone());
    let result = pump(spec(&in_r, &file));
    producer.join().unwrap();
    assert_eq!(result.unwrap(), data.len() as u64);
    drop(file);
    let back = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(back == data);
}

#[test]
fn dev_null_as_writer() {
    let null = OpenOptions::new().write(true).open("/dev/null").unwrap();
    let (in_r, in_w) = pipe();
    let producer = produce(in_w, payload(8, 300_000));
    assert_eq!(pump(spec(&in_r, &null)).unwrap(), 300_000);
    producer.join().unwrap();
    assert!(!nonblocking(&null));
}

#[test]
fn dev_zero_file_and_dev_null_both_always_ready() {
    // Both ends refused by epoll: driven every turn, bounded per turn.
    let path = temp_path("file-to-null");
    std::fs::write(&path, payload(9, 5 * 1024 * 1024)).unwrap();
    let file = File::open(&path).unwrap();
    let null = OpenOptions::new().write(true).open("/dev/null").unwrap();
    let result = pump(PairSpec {
        buffer_size: 4096,
        ..spec(&file, &null)
    });
    std::fs::remove_file(&path).unwrap();
    assert_eq!(result.unwrap(), 5 * 1024 * 1024);
}

#[test]
fn closed_or_negative_descriptor_is_ebadf() {
    let (_r, w) = pipe();
    // Numbers that cannot be open (negative; above any descriptor limit),
    // so no other test's descriptor can be hit by accident.
    for bad in [-1, 1 << 29] {
        let err = pump(PairSpec {
            reader: bad,
            ..spec(&w, &w)
        })
        .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EBADF), "{err}");
    }
}

#[test]
fn wrong_direction_is_ebadf_at_once_and_other_pairs_still_run() {
    let (r, w) = pipe();
    let (in_r, in_w) = pipe();
    let (out_r, out_w) = pipe();
    drop(in_w);
    let waiter = BlockingWaiter::new(4);
    let pairs = vec![
        spec(&w, &out_w), // a write end as reader
        spec(&in_r, &r),  // a read end as writer
        spec(&in_r, &out_w),
        PairSpec {
            buffer_size: 0,
            ..spec(&in_r, &out_w)
        },
    ];
    let _batch = Handle::global()
        .unwrap()
        .submit(pairs, Arc::clone(&waiter) as _);
    assert!(waiter.wait_all_timeout(GUARD));
    let results = waiter.take_results();
    assert_eq!(results[0].as_ref().unwrap_err().errno(), Some(libc::EBADF));
    assert_eq!(results[1].as_ref().unwrap_err().errno(), Some(libc::EBADF));
    assert_eq!(*results[2].as_ref().unwrap(), 0);
    assert_eq!(results[3].as_ref().unwrap_err().errno(), Some(libc::EINVAL));
    drop(out_r);
}

#[test]
fn wrong_direction_fails_before_submit_returns() {
    let (r, w) = pipe();
    let waiter = BlockingWaiter::new(1);
    let _batch = Handle::global()
        .unwrap()
        .submit(vec![spec(&w, &r)], Arc::clone(&waiter) as _);
    assert_eq!(waiter.remaining(), 0, "never waits");
}

#[test]
fn cancel_a_stalled_pair() {
    let (in_r, mut in_w) = pipe();
    let (mut out_r, out_w) = pipe();
    set_nonblocking(&out_w, true); // restored to *this* afterwards
    let waiter = BlockingWaiter::new(1);
    let batch = Handle::global()
        .unwrap()
        .submit(vec![spec(&in_r, &out_w)], Arc::clone(&waiter) as _);
    // A byte through the pair proves it runs (and, its source still open,
    // that it has not finished) before it is cancelled.
    in_w.write_all(b"x").unwrap();
    let mut byte = [0u8; 1];
    out_r.read_exact(&mut byte).unwrap(); // out_r blocks: its own description
    assert_eq!(&byte, b"x");
    assert_eq!(waiter.remaining(), 1, "still running");
    batch.cancel();
    assert!(waiter.wait_all_timeout(GUARD));
    let result = waiter.take_results().pop().unwrap();
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    for fd in [&in_r, &in_w, &out_r, &out_w] {
        assert!(is_open(fd.as_raw_fd()));
    }
    assert!(!nonblocking(&in_r));
    assert!(nonblocking(&out_w));
    // Nothing more is read from the pair's reader: bytes written now stay
    // in the pipe for us.
    in_w.write_all(b"after").unwrap();
    drop(in_w);
    let mut left = Vec::new();
    (&in_r).read_to_end(&mut left).unwrap();
    assert_eq!(left, b"after");
    set_nonblocking(&out_r, true);
    assert!(
        out_r.read(&mut [0; 8]).is_err(),
        "nothing written after the cancel"
    );
}

#[test]
fn same_writer_in_two_pairs_and_flags_restored_after_both() {
    let (a_r, a_w) = pipe();
    let (b_r, b_w) = pipe();
    let (out_r, out_w) = pipe();
    let consumer = consume(out_r);
    let pa = produce(a_w, payload(10, 500_000));
    let pb = produce(b_w, payload(11, 700_000));
    let results = pump_all(vec![spec(&a_r, &out_w), spec(&b_r, &out_w)]);
    assert!(!nonblocking(&out_w), "restored once the last user ended");
    drop(out_w);
    pa.join().unwrap();
    pb.join().unwrap();
    assert_eq!(*results[0].as_ref().unwrap(), 500_000);
    assert_eq!(*results[1].as_ref().unwrap(), 700_000);
    assert_eq!(consumer.join().unwrap().len(), 1_200_000);
}

#[test]
fn one_thousand_pairs_in_one_batch() {
    const PAIRS: usize = 1000;
    common::raise_nofile(16_384);
    let mut ins = Vec::new();
    let mut outs = Vec::new();
    let mut specs = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..PAIRS {
        let (in_r, mut in_w) = pipe();
        let (out_r, out_w) = pipe();
        // Up to 16 KiB each: fits in a pipe, so no consumer threads needed.
        let size = (i * 7919) % (16 * 1024 + 1);
        in_w.write_all(&payload(i as u64, size)).unwrap();
        drop(in_w);
        specs.push(PairSpec {
            buffer_size: 4096,
            ..spec(&in_r, &out_w)
        });
        sizes.push(size);
        ins.push(in_r);
        outs.push((out_r, out_w));
    }
    let results = pump_all(specs);
    for (i, ((mut out_r, out_w), result)) in outs.into_iter().zip(results).enumerate() {
        assert_eq!(result.unwrap(), sizes[i] as u64, "pair {i}");
        drop(out_w);
        let mut got = Vec::new();
        out_r.read_to_end(&mut got).unwrap();
        assert!(got == payload(i as u64, sizes[i]), "pair {i} checksum");
    }
}

#[test]
fn start_one_finishes_inline_when_it_never_waits() {
    let (src_r, mut src_w) = pipe();
    let (dst_r, dst_w) = pipe();
    src_w.write_all(b"inline").expect("write");
    drop(src_w);
    let waiter = cuprum_engine::CompletionQueue::new(1);
    let started = Handle::global()
        .expect("engine")
        .start_one(spec(&src_r, &dst_w), waiter);
    match started {
        Started::Finished(result) => assert_eq!(result.expect("ok"), 6),
        Started::Running(_) => panic!("a transfer that never waits ran in the reactor"),
    }
    assert!(is_open(src_r.as_raw_fd()) && is_open(dst_w.as_raw_fd()));
    assert!(
        !nonblocking(&src_r) && !nonblocking(&dst_w),
        "inline never switches"
    );
    drop(dst_w);
    let mut out = Vec::new();
    (&dst_r).read_to_end(&mut out).expect("read");
    assert_eq!(out, b"inline");
}

#[test]
fn start_one_hands_over_to_the_reactor_when_it_would_wait() {
    let (src_r, mut src_w) = pipe();
    let (dst_r, dst_w) = pipe();
    src_w.write_all(b"first").expect("write");
    let waiter = cuprum_engine::CompletionQueue::new(1);
    let started = Handle::global()
        .expect("engine")
        .start_one(spec(&src_r, &dst_w), waiter.clone());
    let Started::Running(_batch) = started else {
        panic!("the source stays open: the pair must wait in the reactor");
    };
    let mut first = [0_u8; 5];
    (&dst_r).read_exact(&mut first).expect("read");
    assert_eq!(&first, b"first");
    src_w.write_all(b" then more").expect("write");
    drop(src_w);
    let mut done = Vec::new();
    while done.is_empty() {
        done = waiter.wait_timeout(GUARD);
    }
    assert_eq!(done.pop().expect("one").1.expect("ok"), 15);
    assert!(is_open(src_r.as_raw_fd()) && is_open(dst_w.as_raw_fd()));
    assert!(
        !nonblocking(&src_r) && !nonblocking(&dst_w),
        "flags restored"
    );
}

#[test]
fn a_packet_pipe_is_read_to_its_last_packet() {
    // One 4,106-byte write to a packet-mode pipe makes two packets; a read
    // returns one, so a short read there does not prove the pipe empty. A
    // regular file downstream keeps the pair on the ring and sends no
    // readiness event of its own that would hide a missed one.
    let (in_r, mut in_w) = common::packet_pipe();
    let path = temp_path("packets");
    let out = File::create(&path).unwrap();
    let waiter = BlockingWaiter::new(1);
    let batch = Handle::global()
        .unwrap()
        .submit(vec![spec(&in_r, &out)], Arc::clone(&waiter) as _);
    in_w.write_all(&payload(30, 4106)).unwrap();
    // The writer stays open: the pair ends only by cancel. Watch its count.
    let deadline = Instant::now() + GUARD;
    while batch.progress()[0] < 4106 {
        assert!(Instant::now() < deadline, "stuck at {:?}", batch.progress());
        std::thread::yield_now();
    }
    batch.cancel();
    assert!(waiter.wait_all_timeout(GUARD));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn pipes_handed_over_from_the_inline_path_keep_their_flags_apart() {
    // The inline path tells a pipe by `F_GETPIPE_SZ` alone, without its
    // device and inode; the hand-over must learn them, or two different
    // pipes would share one `O_NONBLOCK` record and the first pair to end
    // would leave its descriptors non-blocking until the other ended.
    let handle = Handle::global().expect("engine");
    let (a_r, mut a_w) = pipe();
    let (_a_out_r, a_out_w) = pipe();
    let (b_r, mut b_w) = pipe();
    let (_b_out_r, b_out_w) = pipe();
    let a_done = cuprum_engine::CompletionQueue::new(1);
    let b_done = cuprum_engine::CompletionQueue::new(1);
    let Started::Running(_a) = handle.start_one(spec(&a_r, &a_out_w), a_done.clone()) else {
        panic!("an empty, open source must wait in the reactor");
    };
    let Started::Running(_b) = handle.start_one(spec(&b_r, &b_out_w), b_done.clone()) else {
        panic!("an empty, open source must wait in the reactor");
    };
    a_w.write_all(b"a").expect("write");
    drop(a_w);
    assert_eq!(wait_one(&a_done), 1);
    assert!(
        !nonblocking(&a_r) && !nonblocking(&a_out_w),
        "restored when its own pair ended, the other still running"
    );
    b_w.write_all(b"bb").expect("write");
    drop(b_w);
    assert_eq!(wait_one(&b_done), 2);
    assert!(!nonblocking(&b_r) && !nonblocking(&b_out_w));
}

/// The byte count of the one pair reporting to `done`, once it ends.
fn wait_one(done: &cuprum_engine::CompletionQueue) -> u64 {
    loop {
        if let Some((_, result)) = done.wait_timeout(GUARD).pop() {
            return result.expect("ok");
        }
    }
}

#[test]
fn packets_arrive_whole_through_a_ring_smaller_than_a_packet() {
    // Each 3,000-byte write is one packet; a read with 1,000 bytes of room
    // would return 1,000 and drop 2,000. A pipe downstream: the pair
    // splices until its small splices give way to the ring, and a regular
    // file downstream copies through the ring from the start.
    for to_file in [false, true] {
        let (in_r, in_w) = common::packet_pipe();
        let sent: Vec<u8> = (0..120).flat_map(|i| payload(i, 3000)).collect();
        let writer = std::thread::spawn({
            let sent = sent.clone();
            move || {
                let mut in_w = in_w;
                for packet in sent.chunks(3000) {
                    in_w.write_all(packet).unwrap();
                }
            }
        });
        let got = if to_file {
            let path = temp_path("small-ring-packets");
            let out = File::create(&path).unwrap();
            let mut small = spec(&in_r, &out);
            small.buffer_size = 1000;
            assert_eq!(pump(small).unwrap(), 360_000);
            let got = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            got
        } else {
            // A splice moves the packets on as packets (pipe(7) gives no
            // way to tell them from the read end): the next pipe's reader
            // reads a page or more at a time, as cat does.
            let (out_r, out_w) = pipe();
            let reader = std::thread::spawn(move || {
                let mut out_r = out_r;
                let (mut got, mut chunk) = (Vec::new(), vec![0; 65536]);
                loop {
                    match out_r.read(&mut chunk).unwrap() {
                        0 => break got,
                        n => got.extend_from_slice(&chunk[..n]),
                    }
                }
            });
            let mut small = spec(&in_r, &out_w);
            small.buffer_size = 1000;
            assert_eq!(pump(small).unwrap(), 360_000);
            drop(out_w);
            reader.join().unwrap()
        };
        writer.join().unwrap();
        assert!(
            got == sent,
            "bytes lost or reordered (to a file: {to_file}): {} of {}",
            got.len(),
            sent.len()
        );
    }
}

#[test]
fn a_datagram_socket_is_refused_as_a_reader() {
    use std::os::unix::net::UnixDatagram;
    let (a, _b) = UnixDatagram::pair().unwrap();
    let (_out_r, out_w) = pipe();
    let err = pump(spec(&a, &out_w)).unwrap_err();
    assert!(
        matches!(&err, EngineError::Unpumpable(msg) if msg.contains("SOCK_DGRAM")),
        "{err:?}"
    );
    let handle = Handle::global().expect("engine");
    let Started::Finished(Err(EngineError::Unpumpable(_))) =
        handle.start_one(spec(&a, &out_w), cuprum_engine::CompletionQueue::new(1))
    else {
        panic!("the inline start must refuse it too");
    };
}

/// Wait (polling: no event tells it) until `fd`'s file is non-blocking.
fn until_nonblocking(fd: &File) {
    let deadline = Instant::now() + GUARD;
    while !nonblocking(fd) {
        assert!(Instant::now() < deadline, "the engine never switched it");
        std::thread::yield_now();
    }
}

#[test]
fn an_end_made_blocking_by_someone_else_holds_no_other_pair() {
    // O_NONBLOCK belongs to the open file: another holder (a duplicate, a
    // forked child whose pair ended) may clear it under a registered end.
    // Its own pair may slow down; the reactor, and every other pair, not.
    for side in ["reader", "writer"] {
        let handle = Handle::global().expect("engine");
        let (a_r, a_w) = pipe();
        let (a_out_r, a_out_w) = pipe();
        let a_done = BlockingWaiter::new(1);
        let a = handle.submit(vec![spec(&a_r, &a_out_w)], Arc::clone(&a_done) as _);
        let a_producer = if side == "reader" {
            until_nonblocking(&a_r);
            set_nonblocking(&a_r, false);
            // Read at once, then read again: on a blocking file, for ever.
            // (The producer's pipe stays open until A's output is drained.)
            let mut a_w = a_w;
            a_w.write_all(b"wake").unwrap();
            std::thread::spawn(move || {
                std::thread::park();
                drop(a_w);
                4
            })
        } else {
            until_nonblocking(&a_out_w);
            set_nonblocking(&a_out_w, false);
            // Nobody reads a_out yet: the writes fill it, then the next blocks.
            produce(a_w, payload(9, 256 * 1024))
        };
        let deadline = Instant::now() + GUARD;
        while a.progress()[0] < 4 {
            assert!(Instant::now() < deadline, "pair A never moved");
            std::thread::yield_now();
        }
        let (b_r, b_w) = pipe();
        let (b_out_r, b_out_w) = pipe();
        let sent = payload(10, 100_000);
        let producer = produce(b_w, sent.clone());
        let reader = consume(b_out_r);
        let b_done = BlockingWaiter::new(1);
        let _b = handle.submit(vec![spec(&b_r, &b_out_w)], Arc::clone(&b_done) as _);
        let b_finished = b_done.wait_all_timeout(GUARD);
        // Unstick A either way (a reader for its output, then EOF).
        let drained = consume(a_out_r);
        a_producer.thread().unpark();
        a_producer.join().unwrap();
        assert!(
            a_done.wait_all_timeout(GUARD),
            "pair A never ended ({side})"
        );
        drop(a_out_w);
        drained.join().unwrap();
        assert!(b_finished, "pair B waited behind A's {side} made blocking");
        assert_eq!(b_done.take_results().pop().unwrap().unwrap(), 100_000);
        drop(b_out_w);
        producer.join().unwrap();
        assert!(reader.join().unwrap() == sent);
    }
}

#[test]
fn a_regular_file_is_never_read_on_the_reactor_thread() {
    // A read from a file may wait for the disk; on the reactor's thread it
    // would hold every other pair meanwhile. Such a pair runs (and reports)
    // on a thread of its own.
    struct Where(std::sync::Mutex<Vec<String>>);
    impl cuprum_engine::Completion for Where {
        fn complete(&self, _index: usize, result: cuprum_engine::PairResult) {
            assert_eq!(result.expect("copied"), 5);
            let name = std::thread::current().name().unwrap_or("?").to_owned();
            self.0.lock().unwrap().push(name);
        }
    }
    let path = temp_path("file-off-reactor");
    std::fs::write(&path, b"disk!").unwrap();
    let file = File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (out_r, out_w) = pipe();
    let reader = consume(out_r);
    let seen = Arc::new(Where(std::sync::Mutex::new(Vec::new())));
    let _batch = Handle::global()
        .expect("engine")
        .submit(vec![spec(&file, &out_w)], Arc::clone(&seen) as _);
    drop(out_w);
    assert_eq!(reader.join().unwrap(), b"disk!");
    let deadline = Instant::now() + GUARD;
    while seen.0.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "never completed");
        std::thread::yield_now();
    }
    assert_eq!(seen.0.lock().unwrap().as_slice(), ["cuprum-blocking"]);
}

#[test]
fn every_byte_arrives_while_the_producer_still_holds_its_pipe_open() {
    // The producer writes, then waits for all of it to arrive before it
    // closes: no hang-up edge comes to cover for a read or write the engine
    // gave up on too early (a pipe whose lock the other end held once made
    // an RWF_NOWAIT call say EAGAIN with data or room there). Many rounds:
    // the lock is held only now and then.
    let handle = Handle::global().expect("engine");
    for round in 0..200_u64 {
        let (src_r, src_w) = pipe();
        let (out_r, out_w) = pipe();
        let sent = payload(round, 64 * 1024);
        let done = cuprum_engine::CompletionQueue::new(1);
        let _batch = handle.submit(vec![spec(&src_r, &out_w)], done.clone());
        let (arrived_tx, arrived_rx) = std::sync::mpsc::channel();
        let expected = sent.len();
        let consumer = std::thread::spawn(move || {
            let mut out_r = out_r;
            let (mut got, mut chunk) = (Vec::new(), vec![0; 4096]);
            while got.len() < expected {
                match out_r.read(&mut chunk).unwrap() {
                    0 => break,
                    n => got.extend_from_slice(&chunk[..n]),
                }
            }
            arrived_tx.send(()).unwrap();
            got
        });
        let mut src_w = src_w;
        for piece in sent.chunks(4096) {
            src_w.write_all(piece).unwrap();
        }
        let arrived = arrived_rx.recv_timeout(GUARD).is_ok();
        drop(src_w);
        let got = consumer.join().unwrap();
        assert!(
            arrived,
            "round {round}: stuck with {} of {expected} bytes",
            got.len()
        );
        assert!(got == sent, "round {round}: bytes differ");
        drop(out_w);
    }
}
