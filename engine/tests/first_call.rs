//! The call that starts the engine checks its descriptors first: a number
//! the caller closed just before stays closed for that call, even though
//! the engine's new epoll and eventfd descriptors would take it. Its own
//! test binary, so that its one test makes the process's first engine call.

mod common;

use std::os::fd::IntoRawFd;

use common::pipe;
use cuprum_engine::{Handle, PairSpec, Started};

#[test]
fn a_number_closed_before_the_engine_starts_is_ebadf() {
    let (r, w) = pipe();
    let closed = r.into_raw_fd();
    // SAFETY: `closed` came from `into_raw_fd` and is closed exactly once.
    unsafe { libc::close(closed) };
    let mut spec = PairSpec {
        reader: closed,
        writer: std::os::fd::AsRawFd::as_raw_fd(&w),
        buffer_size: 65536,
        drain_timeout: None,
    };
    let handle = Handle::global_for(std::slice::from_mut(&mut spec)).expect("engine");
    let waiter = cuprum_engine::CompletionQueue::new(1);
    let Started::Finished(result) = handle.start_one(spec, waiter) else {
        panic!("a closed reader fails at once");
    };
    assert_eq!(result.expect_err("closed").errno(), Some(libc::EBADF));
}
