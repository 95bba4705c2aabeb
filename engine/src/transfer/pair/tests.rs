//! Unit and property tests of the pair state machine, on scripted
//! in-memory ends (no descriptors).

use super::{Pair, Sink, Source, State, Step};
use proptest::prelude::*;
use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::time::{Duration, Instant};

/// One scripted reaction of a fake end.
#[derive(Debug, Clone)]
enum Act {
    /// Transfer at most this many bytes.
    Up(usize),
    WouldBlock,
    Interrupted,
    Fail(io::ErrorKind),
    /// Fail with this raw `errno`.
    Errno(i32),
}

/// A reader over `data`, following a script (then reading freely).
struct FakeReader {
    data: Vec<u8>,
    pos: usize,
    script: VecDeque<Act>,
    calls: usize,
}

impl FakeReader {
    fn new(data: &[u8], script: Vec<Act>) -> Self {
        Self {
            data: data.to_vec(),
            pos: 0,
            script: script.into(),
            calls: 0,
        }
    }
}

impl Source for FakeReader {
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.calls += 1;
        let limit = match self.script.pop_front() {
            Some(Act::Up(n)) => n,
            Some(Act::WouldBlock) => return Err(io::ErrorKind::WouldBlock.into()),
            Some(Act::Interrupted) => return Err(io::ErrorKind::Interrupted.into()),
            Some(Act::Fail(kind)) => return Err(kind.into()),
            Some(Act::Errno(errno)) => return Err(io::Error::from_raw_os_error(errno)),
            None => usize::MAX,
        };
        let mut done = 0;
        for buf in bufs.iter_mut() {
            let n = buf.len().min(self.data.len() - self.pos).min(limit - done);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            done += n;
        }
        Ok(done)
    }
}

/// A writer collecting bytes, following a script (then writing freely).
struct FakeWriter {
    out: Vec<u8>,
    script: VecDeque<Act>,
}

impl FakeWriter {
    fn new(script: Vec<Act>) -> Self {
        Self {
            out: Vec::new(),
            script: script.into(),
        }
    }
}

impl Sink for FakeWriter {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let limit = match self.script.pop_front() {
            Some(Act::Up(n)) => n,
            Some(Act::WouldBlock) => return Err(io::ErrorKind::WouldBlock.into()),
            Some(Act::Interrupted) => return Err(io::ErrorKind::Interrupted.into()),
            Some(Act::Fail(kind)) => return Err(kind.into()),
            Some(Act::Errno(errno)) => return Err(io::Error::from_raw_os_error(errno)),
            None => usize::MAX,
        };
        let mut done = 0;
        for buf in bufs {
            let n = buf.len().min(limit - done);
            self.out.extend_from_slice(&buf[..n]);
            done += n;
        }
        Ok(done)
    }
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251).to_le_bytes()[0]).collect()
}

/// Drive until done, as a reactor would (every `Wait` is followed by an
/// event); panics after too many calls.
fn run(pair: &mut Pair, r: &mut impl Source, w: &mut impl Sink) {
    for _ in 0..100_000 {
        if pair.drive(r, w, Instant::now()) == Step::Done {
            return;
        }
    }
    panic!("pair never finished: {:?}", pair.state());
}

#[test]
fn copies_everything_and_counts() {
    let input = data(100_000);
    let mut pair = Pair::new(4096, None);
    let mut r = FakeReader::new(&input, vec![]);
    let mut w = FakeWriter::new(vec![]);
    run(&mut pair, &mut r, &mut w);
    assert_eq!(w.out, input);
    assert_eq!(
        pair.progress().load(std::sync::atomic::Ordering::Relaxed),
        100_000
    );
    assert_eq!(pair.into_result().unwrap(), 100_000);
}

#[test]
fn empty_reader_finishes_with_zero() {
    let mut pair = Pair::new(16, None);
    let mut r = FakeReader::new(b"", vec![]);
    let mut w = FakeWriter::new(vec![]);
    assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
    assert_eq!(pair.into_result().unwrap(), 0);
}

#[test]
fn partial_io_would_block_and_interrupts_lose_nothing() {
    let input = data(5000);
    let mut pair = Pair::new(64, None);
    let mut r = FakeReader::new(
        &input,
        vec![
            Act::Interrupted,
            Act::Up(3),
            Act::WouldBlock,
            Act::Up(100),
            Act::Interrupted,
            Act::WouldBlock,
            Act::Up(1),
        ],
    );
    let mut w = FakeWriter::new(vec![
        Act::Up(1),
        Act::WouldBlock,
        Act::Interrupted,
        Act::Up(7),
        Act::WouldBlock,
        Act::Up(5),
    ]);
    run(&mut pair, &mut r, &mut w);
    assert_eq!(w.out, input);
    assert_eq!(pair.written(), 5000);
    assert_eq!(pair.discarded(), 0);
}

#[test]
fn would_block_reader_waits_on_reader() {
    let mut pair = Pair::new(16, None);
    let mut r = FakeReader::new(b"abc", vec![Act::Up(2), Act::WouldBlock]);
    let mut w = FakeWriter::new(vec![]);
    let step = pair.drive(&mut r, &mut w, Instant::now());
    assert_eq!(
        step,
        Step::Wait {
            reader: true,
            writer: false
        }
    );
    assert_eq!(w.out, b"ab");
}

#[test]
fn full_ring_pauses_reader_and_writer_space_resumes_it() {
    // Ring of 4; writer blocks at once: the reader fills the ring and
    // stops (no WouldBlock from it). The next call (a writer edge) must
    // both write and read again without any reader event.
    let input = data(10);
    let mut pair = Pair::new(4, None);
    let mut r = FakeReader::new(&input, vec![]);
    let mut w = FakeWriter::new(vec![Act::WouldBlock]);
    let step = pair.drive(&mut r, &mut w, Instant::now());
    assert_eq!(
        step,
        Step::Wait {
            reader: false,
            writer: true
        }
    );
    assert_eq!(r.pos, 4);
    assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
    assert_eq!(w.out, input);
}

#[test]
fn broken_pipe_drains_until_eof_and_reports_bytes_written() {
    let input = data(1000);
    let mut pair = Pair::new(100, None);
    let mut r = FakeReader::new(&input, vec![Act::Up(100), Act::Up(100)]);
    let mut w = FakeWriter::new(vec![Act::Up(60), Act::Fail(io::ErrorKind::BrokenPipe)]);
    run(&mut pair, &mut r, &mut w);
    assert_eq!(r.pos, 1000, "reader drained to EOF");
    assert_eq!(pair.written(), 60);
    assert_eq!(pair.discarded(), 940);
    assert_eq!(pair.into_result().unwrap(), 60);
}

#[test]
fn connection_reset_drains_too() {
    let input = data(300);
    let mut pair = Pair::new(100, None);
    let mut r = FakeReader::new(&input, vec![]);
    let mut w = FakeWriter::new(vec![Act::Fail(io::ErrorKind::ConnectionReset)]);
    run(&mut pair, &mut r, &mut w);
    assert_eq!(pair.into_result().unwrap(), 0);
}

#[test]
fn drain_waits_on_reader_then_deadline_finishes() {
    let mut pair = Pair::new(16, Some(Duration::from_secs(5)));
    let mut r = FakeReader::new(&data(32), vec![Act::Up(8), Act::WouldBlock]);
    let mut w = FakeWriter::new(vec![Act::Up(3), Act::Fail(io::ErrorKind::BrokenPipe)]);
    let t0 = Instant::now();
    let step = pair.drive(&mut r, &mut w, t0);
    assert!(matches!(step, Step::Wait { reader: true, .. }), "{step:?}");
    assert_eq!(pair.deadline(), Some(t0 + Duration::from_secs(5)));
    assert!(!pair.expire(t0 + Duration::from_secs(4)));
    assert!(pair.expire(t0 + Duration::from_secs(5)));
    assert_eq!(pair.into_result().unwrap(), 3);
}

#[test]
fn zero_drain_timeout_finishes_at_the_break() {
    let mut pair = Pair::new(16, Some(Duration::ZERO));
    let mut r = FakeReader::new(&data(1000), vec![]);
    let mut w = FakeWriter::new(vec![Act::Fail(io::ErrorKind::BrokenPipe)]);
    assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
    assert_eq!(pair.into_result().unwrap(), 0);
}

#[test]
fn read_error_fails_with_errno() {
    let mut pair = Pair::new(16, None);
    let mut r = FakeReader::new(b"abc", vec![]);
    r.script.push_back(Act::Up(3));
    let mut r = FakeReaderErr(r);
    let mut w = FakeWriter::new(vec![]);
    assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
    let err = pair.into_result().unwrap_err();
    assert_eq!(err.errno(), Some(libc::EIO));
    // The error ends the pair at once; buffered bytes are not written.
    assert!(w.out.is_empty());
}

/// Reads scripted data then fails with a real errno.
struct FakeReaderErr(FakeReader);

impl Source for FakeReaderErr {
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        if self.0.script.is_empty() {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        self.0.read_vectored(bufs)
    }
}

#[test]
fn write_error_other_than_broken_pipe_fails() {
    let mut pair = Pair::new(16, None);
    let mut r = FakeReader::new(b"abc", vec![]);
    let mut w = FakeWriter::new(vec![Act::Fail(io::ErrorKind::PermissionDenied)]);
    assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
    assert!(matches!(pair.state(), State::Failed(_)));
}

#[test]
fn always_ready_pair_yields_within_its_budget() {
    let input = data(1 << 20);
    let mut pair = Pair::new(1024, None);
    let mut r = FakeReader::new(&input, vec![]);
    let mut w = FakeWriter::new(vec![]);
    assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Yield);
    assert!(r.calls <= 64, "bounded syscalls per call: {}", r.calls);
    assert!(pair.written() <= 4 * 1024);
    run(&mut pair, &mut r, &mut w);
    assert_eq!(w.out, input);
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        4 => (0usize..50).prop_map(Act::Up),
        1 => Just(Act::WouldBlock),
        1 => Just(Act::Interrupted),
    ]
}

proptest! {
    /// Whatever partial reads, partial writes, `WouldBlock`s and
    /// interrupts the ends produce, every byte arrives once, in order.
    #[test]
    fn any_schedule_delivers_all_bytes(
        capacity in 1usize..40,
        len in 0usize..600,
        rs in proptest::collection::vec(act(), 0..100),
        ws in proptest::collection::vec(act(), 0..100),
    ) {
        deliver_all(capacity, len, rs, ws, false)?;
    }
}

/// The descriptor number the splice fakes agree on.
const FAKE_SINK: i32 = 42;

/// A pipe-like reader that also splices, following a splice script
/// (then splicing freely); spliced bytes land in `spliced`.
struct SplicingReader {
    inner: FakeReader,
    splice_script: VecDeque<Act>,
    spliced: Vec<u8>,
}

impl SplicingReader {
    fn new(data: &[u8], splice_script: Vec<Act>) -> Self {
        Self {
            inner: FakeReader::new(data, vec![]),
            splice_script: splice_script.into(),
            spliced: Vec::new(),
        }
    }
}

impl Source for SplicingReader {
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read_vectored(bufs)
    }

    fn splice_into(&mut self, sink: i32, len: usize) -> Option<io::Result<usize>> {
        assert_eq!(sink, FAKE_SINK);
        let limit = match self.splice_script.pop_front() {
            Some(Act::Up(n)) => n,
            Some(Act::WouldBlock) => return Some(Err(io::ErrorKind::WouldBlock.into())),
            Some(Act::Interrupted) => return Some(Err(io::ErrorKind::Interrupted.into())),
            Some(Act::Fail(kind)) => return Some(Err(kind.into())),
            Some(Act::Errno(errno)) => return Some(Err(io::Error::from_raw_os_error(errno))),
            None => usize::MAX,
        };
        let r = &mut self.inner;
        let n = len.min(limit).min(r.data.len() - r.pos);
        self.spliced.extend_from_slice(&r.data[r.pos..r.pos + n]);
        r.pos += n;
        Some(Ok(n))
    }
}

/// A writer that accepts splices (into `FAKE_SINK`).
struct SplicingWriter(FakeWriter);

impl Sink for SplicingWriter {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn splice_fd(&self) -> Option<i32> {
        Some(FAKE_SINK)
    }
}

fn einval() -> Act {
    Act::Errno(libc::EINVAL)
}

#[test]
fn splices_when_both_ends_can_and_waits_on_both_when_blocked() {
    let input = data(50_000);
    let mut pair = Pair::new(4096, None);
    let script = vec![Act::Up(1000), Act::Interrupted, Act::WouldBlock];
    let mut r = SplicingReader::new(&input, script);
    let mut w = SplicingWriter(FakeWriter::new(vec![]));
    let step = pair.drive(&mut r, &mut w, Instant::now());
    assert_eq!(
        step,
        Step::Wait {
            reader: true,
            writer: true
        }
    );
    assert_eq!(pair.written(), 1000);
    run(&mut pair, &mut r, &mut w);
    assert_eq!(r.spliced, input);
    assert!(w.0.out.is_empty(), "no byte went through the ring");
    assert_eq!(pair.into_result().unwrap(), 50_000);
}

#[test]
fn a_splice_asks_for_a_pipe_full_whatever_the_ring() {
    // Splicing moves page references, not through the ring: a pair with a
    // 16-byte ring still empties a 300 KB source in one call.
    let input = data(300_000);
    let mut pair = Pair::new(16, None);
    let mut r = SplicingReader::new(&input, vec![]);
    let mut w = SplicingWriter(FakeWriter::new(vec![]));
    pair.drive(&mut r, &mut w, Instant::now());
    assert_eq!(pair.written(), 300_000);
    run(&mut pair, &mut r, &mut w);
    assert_eq!(r.spliced, input);
    assert_eq!(pair.into_result().unwrap(), 300_000);
}

#[test]
fn small_splices_give_way_to_the_ring_and_large_ones_do_not() {
    // 256 splices of 1,000 bytes (under 3/8 of a 4,096-byte ring): the rest
    // goes through the ring. Of 2,000 bytes: everything is spliced.
    for (piece, spliced) in [(1000, 256_000), (2000, 400_000)] {
        let input = data(400_000);
        let mut pair = Pair::new(4096, None);
        let mut r = SplicingReader::new(&input, vec![Act::Up(piece); 256]);
        let mut w = SplicingWriter(FakeWriter::new(vec![]));
        run(&mut pair, &mut r, &mut w);
        assert_eq!(r.spliced.len(), spliced, "pieces of {piece}");
        assert_eq!([r.spliced, w.0.out].concat(), input);
        assert_eq!(pair.into_result().unwrap(), 400_000);
    }
}

#[test]
fn einval_on_the_first_splice_falls_back_to_the_ring() {
    let input = data(30_000);
    let mut pair = Pair::new(4096, None);
    let mut r = SplicingReader::new(&input, vec![einval()]);
    let mut w = SplicingWriter(FakeWriter::new(vec![]));
    run(&mut pair, &mut r, &mut w);
    assert!(r.spliced.is_empty());
    assert_eq!(w.0.out, input);
    assert_eq!(pair.into_result().unwrap(), 30_000);
}

#[test]
fn einval_after_splicing_worked_is_an_error() {
    let input = data(30_000);
    let mut pair = Pair::new(4096, None);
    let mut r = SplicingReader::new(&input, vec![Act::Up(10), einval()]);
    let mut w = SplicingWriter(FakeWriter::new(vec![]));
    run(&mut pair, &mut r, &mut w);
    let err = pair.into_result().unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL));
}

#[test]
fn broken_downstream_while_splicing_drains_the_reader() {
    let input = data(40_000);
    let mut pair = Pair::new(4096, None);
    let script = vec![Act::Up(700), Act::Fail(io::ErrorKind::BrokenPipe)];
    let mut r = SplicingReader::new(&input, script);
    let mut w = SplicingWriter(FakeWriter::new(vec![]));
    run(&mut pair, &mut r, &mut w);
    assert_eq!(r.inner.pos, input.len(), "the reader was drained to EOF");
    assert_eq!(pair.discarded(), 40_000 - 700);
    assert_eq!(pair.into_result().unwrap(), 700);
}

/// An end whose short transfers prove it emptied or filled, as a reactor
/// pipe that has not hung up: an edge always follows (pair.rs).
struct Edged<T>(T);

impl<T: Source> Source for Edged<T> {
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.0.read_vectored(bufs)
    }

    fn short_promises_edge(&self) -> bool {
        true
    }
}

impl<T: Sink> Sink for Edged<T> {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn short_promises_edge(&self) -> bool {
        true
    }
}

#[test]
fn a_short_read_reads_again_even_from_an_edged_pipe() {
    // A packet-mode writer makes reads short with more waiting: only a
    // splice or a write may skip the call that would block.
    let input = data(1000);
    let mut pair = Pair::new(4096, None);
    let mut r = Edged(FakeReader::new(&input, vec![Act::Up(400)]));
    let mut w = FakeWriter::new(vec![]);
    assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
    assert_eq!(w.out, input);
}

#[test]
fn a_short_write_to_an_edged_pipe_waits_for_room() {
    let input = data(1000);
    let mut pair = Pair::new(4096, None);
    let mut r = FakeReader::new(&input, vec![Act::Up(1000), Act::WouldBlock]);
    let mut w = Edged(FakeWriter::new(vec![Act::Up(10)]));
    let step = pair.drive(&mut r, &mut w, Instant::now());
    assert_eq!(
        step,
        Step::Wait {
            reader: true,
            writer: true
        }
    );
    assert_eq!(w.0.out.len(), 10, "no write after the pipe filled");
    run(&mut pair, &mut r, &mut w);
    assert_eq!(w.0.out, input);
}

proptest! {
    /// With edged ends (short transfers skip the call that would block),
    /// any schedule still delivers every byte once, in order.
    #[test]
    fn any_schedule_delivers_all_bytes_with_edged_ends(
        capacity in 1usize..40,
        len in 0usize..600,
        rs in proptest::collection::vec(act(), 0..100),
        ws in proptest::collection::vec(act(), 0..100),
    ) {
        deliver_all(capacity, len, rs, ws, true)?;
    }
}

/// `Up(0)` would be an early EOF from a reader and an EIO from a writer:
/// scripted ends make at least one byte of progress instead.
fn nonzero(act: Act) -> Act {
    match act {
        Act::Up(0) => Act::Up(1),
        act => act,
    }
}

/// Pump `len` bytes through a pair of `capacity` under the reader and
/// writer scripts `rs` and `ws` (with edged ends when `edged`) and check
/// that every byte arrives once, in order.
fn deliver_all(
    capacity: usize,
    len: usize,
    rs: Vec<Act>,
    ws: Vec<Act>,
    edged: bool,
) -> Result<(), TestCaseError> {
    let input = data(len);
    let mut pair = Pair::new(capacity, None);
    let mut r = FakeReader::new(&input, rs.into_iter().map(nonzero).collect());
    let mut w = FakeWriter::new(ws.into_iter().map(nonzero).collect());
    if edged {
        let (mut er, mut ew) = (Edged(r), Edged(w));
        run(&mut pair, &mut er, &mut ew);
        w = ew.0;
    } else {
        run(&mut pair, &mut r, &mut w);
    }
    prop_assert_eq!(&w.out, &input);
    prop_assert_eq!(pair.into_result().unwrap(), len as u64);
    Ok(())
}

proptest! {
    /// Whatever the splices move (often little enough that the pair gives
    /// way to the ring part-way), every byte arrives once, in order: the
    /// spliced ones first, then those copied through the ring.
    #[test]
    fn any_splice_schedule_then_the_ring_delivers_all_bytes(
        capacity in 1usize..200,
        len in 0usize..20_000,
        splices in proptest::collection::vec(act(), 0..700),
        ws in proptest::collection::vec(act(), 0..100),
    ) {
        let input = data(len);
        let mut pair = Pair::new(capacity, None);
        let mut r = SplicingReader::new(&input, splices.into_iter().map(nonzero).collect());
        let mut w = SplicingWriter(FakeWriter::new(ws.into_iter().map(nonzero).collect()));
        run(&mut pair, &mut r, &mut w);
        prop_assert_eq!([r.spliced, w.0.out].concat(), input);
        prop_assert_eq!(pair.into_result().unwrap(), len as u64);
    }
}

/// A pipe in packet mode, as pipe(7) describes it: each read returns one
/// packet, and a read with less room than the packet drops its rest.
struct PacketReader {
    packets: VecDeque<Vec<u8>>,
    whole: usize,
}

impl Source for PacketReader {
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let Some(packet) = self.packets.pop_front() else {
            return Ok(0);
        };
        let mut done = 0;
        for buf in bufs.iter_mut() {
            let n = buf.len().min(packet.len() - done);
            buf[..n].copy_from_slice(&packet[done..done + n]);
            done += n;
        }
        Ok(done) // the rest of the packet, if any, is gone
    }

    fn whole_read(&self) -> usize {
        self.whole
    }
}

fn packets(count: usize, size: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            data(size)
                .iter()
                .map(|b| b.wrapping_add(i.to_le_bytes()[0]))
                .collect()
        })
        .collect()
}

#[test]
fn a_packet_pipe_loses_nothing_when_the_ring_fills() {
    // 64 KiB ring, 3,000-byte packets, a writer that blocks for a while:
    // the ring fills to 21 packets, and a 22nd read with 2,536 bytes of
    // room would drop 464 bytes.
    let sent = packets(400, 3000);
    let mut r = PacketReader {
        packets: sent.clone().into(),
        whole: 4096,
    };
    let mut w = FakeWriter::new(vec![Act::WouldBlock; 3]);
    let mut pair = Pair::new(65536, None);
    run(&mut pair, &mut r, &mut w);
    assert_eq!(w.out, sent.concat());
    assert_eq!(pair.into_result().unwrap(), 1_200_000);
}

#[test]
fn a_packet_pipe_loses_nothing_through_a_ring_smaller_than_a_page() {
    let sent = packets(50, 3000);
    let mut r = PacketReader {
        packets: sent.clone().into(),
        whole: 4096,
    };
    let mut w = FakeWriter::new(vec![]);
    let mut pair = Pair::new(1000, None);
    run(&mut pair, &mut r, &mut w);
    assert_eq!(w.out, sent.concat());
}

proptest! {
    #[test]
    fn packets_arrive_whole_whatever_the_ring_and_the_writer(
        sizes in prop::collection::vec(1usize..=4096, 1..60),
        ring in 1usize..20_000,
        stalls in prop::collection::vec(prop_oneof![
            Just(Act::WouldBlock), (1usize..5000).prop_map(Act::Up)
        ], 0..30),
    ) {
        let sent: Vec<Vec<u8>> = sizes.iter().map(|&n| data(n)).collect();
        let mut r = PacketReader { packets: sent.clone().into(), whole: 4096 };
        let mut w = FakeWriter::new(stalls);
        let mut pair = Pair::new(ring, None);
        run(&mut pair, &mut r, &mut w);
        prop_assert_eq!(w.out, sent.concat());
    }
}

#[test]
fn one_turn_moves_a_bounded_number_of_bytes_whatever_the_ring() {
    // A 256 MiB ring once let one turn move 1 GiB while every other pair
    // waited; a turn now stops at a fixed number of bytes (reads and writes
    // counted), and the pair yields.
    let input = vec![7_u8; 48 << 20];
    let mut r = FakeReader::new(&input, vec![Act::Up(1 << 20); 48]);
    let mut w = FakeWriter::new(vec![]);
    let mut pair = Pair::new(256 << 20, None);
    assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Yield);
    let moved = w.out.len();
    assert!(moved > 0 && moved <= super::MAX_BYTES_PER_DRIVE, "{moved}");
    run(&mut pair, &mut r, &mut w);
    assert_eq!(w.out.len(), input.len());
}
