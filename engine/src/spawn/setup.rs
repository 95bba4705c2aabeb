//! The plain data a spawned child reads ([`ChildSetup`]): filled by
//! `spawn`, handed to the child by `sys::spawn_child`'s `clone`, written
//! back by the child only on failure. Safe code.

use std::mem::MaybeUninit;

/// What the child of `sys::spawn_child` runs: raw pointers into storage the
/// caller keeps alive across the call (see `crate::spawn::SpawnPlan`).
/// Written by the child (which shares the caller's memory until it execs or
/// exits) only in `failed_step` and `failed_errno`.
#[repr(C)]
pub(crate) struct ChildSetup {
    pub program: *const libc::c_char,
    pub argv: *const *const libc::c_char,
    /// Null: the caller's own environment.
    pub envp: *const *const libc::c_char,
    /// Null: the caller's working directory.
    pub cwd: *const libc::c_char,
    pub fds: [libc::c_int; 3],
    pub new_group: bool,
    /// 0: none.
    pub death_signal: libc::c_int,
    pub parent: libc::pid_t,
    /// The spawning thread's signal mask, saved by `sys::spawn_child`
    /// for the child to restore.
    pub mask: MaybeUninit<libc::sigset_t>,
    pub failed_step: libc::c_int,
    pub failed_errno: libc::c_int,
}

impl ChildSetup {
    /// A set-up from the caller's pointers (see the fields).
    pub(crate) fn new(
        program: *const libc::c_char,
        argv: *const *const libc::c_char,
        envp: *const *const libc::c_char,
        cwd: *const libc::c_char,
        fds: [libc::c_int; 3],
    ) -> Self {
        Self {
            program,
            argv,
            envp,
            cwd,
            fds,
            new_group: false,
            death_signal: 0,
            parent: 0,
            mask: MaybeUninit::uninit(),
            failed_step: 0,
            failed_errno: 0,
        }
    }
}
