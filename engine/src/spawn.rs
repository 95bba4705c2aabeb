//! Starting a pipeline stage: a child that cannot outlive its caller.
//!
//! [`spawn`] starts a program the way `subprocess.Popen` does on Linux (a
//! child that shares the caller's memory until it execs, so nothing is
//! copied), with what `Popen` cannot give without a Python `preexec_fn`
//! (which forces a full `fork`, three times the cost, and may deadlock in
//! a threaded process): `PR_SET_PDEATHSIG` set in the child before exec, so
//! the stage is killed when the thread that spawned it dies, even by
//! `SIGKILL`, and the race with a caller that died before that is closed
//! (behaviour section 11 rule 5). Every raw pointer the child reads is
//! built here, before the child exists, and kept alive across the call;
//! the `unsafe` clone itself is `sys::spawn_child`.
//!
//! The child, in order: sets every caught signal back to its default (so
//! no handler of this process runs in it), `SIGPIPE` and `SIGXFSZ` too (as
//! `subprocess` does); joins a group of its own if asked; asks for
//! `death_signal` when the spawning thread dies, and exits at once if its
//! parent already died; puts its three descriptors on 0, 1 and 2; changes
//! directory; closes every other descriptor; restores the signal mask and
//! execs. A failed step is written back to `setup::ChildSetup` and reported as
//! a [`Step`] once the child is reaped.

use std::ffi::CString;
use std::io;

use crate::sys::{spawn_child, STEP_CHDIR, STEP_EXEC};
use setup::ChildSetup;

pub(crate) mod setup;

/// What to start: every string already checked for interior NUL bytes.
pub struct SpawnPlan {
    program: CString,
    argv: Vec<CString>,
    env: Option<Vec<CString>>,
    cwd: Option<CString>,
    /// The child's standard input, output and error.
    pub fds: [i32; 3],
    /// Put the child in a process group of its own.
    pub new_group: bool,
    /// The signal the child gets when the spawning thread dies (0: none).
    pub death_signal: i32,
}

/// Why a spawn failed: the step, its error.
#[derive(Debug)]
pub struct SpawnError {
    /// What the child was doing.
    pub step: Step,
    /// The `errno` of that step.
    pub error: io::Error,
}

/// The child's step that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Setting up its group, signals or descriptors (or the clone itself).
    Setup,
    /// Changing to the working directory.
    Chdir,
    /// `execve` of the program.
    Exec,
}

impl SpawnPlan {
    /// A plan for `program` with `argv` (program name first), `env` as
    /// `NAME=value` entries (`None`: this process's environment) and `cwd`.
    ///
    /// # Errors
    ///
    /// An interior NUL byte in any of them.
    pub fn new(
        program: Vec<u8>,
        argv: Vec<Vec<u8>>,
        env: Option<Vec<Vec<u8>>>,
        cwd: Option<Vec<u8>>,
    ) -> Result<Self, std::ffi::NulError> {
        Ok(Self {
            program: CString::new(program)?,
            argv: argv
                .into_iter()
                .map(CString::new)
                .collect::<Result<_, _>>()?,
            env: env
                .map(|env| env.into_iter().map(CString::new).collect())
                .transpose()?,
            cwd: cwd.map(CString::new).transpose()?,
            fds: [0, 1, 2],
            new_group: false,
            death_signal: 0,
        })
    }
}

/// Start `plan`'s program; return its pid.
///
/// # Errors
///
/// The step that failed in the child (it is reaped) or the clone's error.
pub fn spawn(plan: &SpawnPlan) -> Result<i32, SpawnError> {
    let argv = null_terminated(&plan.argv);
    let env = plan.env.as_deref().map(null_terminated);
    let mut setup = ChildSetup::new(
        plan.program.as_ptr(),
        argv.as_ptr(),
        env.as_ref().map_or(std::ptr::null(), Vec::as_ptr),
        plan.cwd
            .as_ref()
            .map_or(std::ptr::null(), |cwd| cwd.as_ptr()),
        plan.fds,
    );
    setup.new_group = plan.new_group;
    setup.death_signal = plan.death_signal;
    spawn_child(&mut setup).map_err(|(step, error)| SpawnError {
        step: match step {
            STEP_CHDIR => Step::Chdir,
            STEP_EXEC => Step::Exec,
            _ => Step::Setup,
        },
        error,
    })
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(pid: i32) -> i32 {
        let mut status = 0;
        assert_eq!(crate::sys::wait_for(pid, &mut status), pid);
        status
    }

    fn plan(argv: &[&str]) -> SpawnPlan {
        SpawnPlan::new(
            argv[0].as_bytes().to_vec(),
            argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
            None,
            None,
        )
        .unwrap()
    }

    #[test]
    fn a_program_runs_and_its_status_is_seen() {
        let pid = spawn(&plan(&["/bin/sh", "-c", "exit 7"])).unwrap();
        let status = wait(pid);
        assert!(libc::WIFEXITED(status));
        assert_eq!(libc::WEXITSTATUS(status), 7);
    }

    #[test]
    fn a_missing_program_fails_at_exec_with_enoent() {
        let failed = spawn(&plan(&["/cuprum-no-such-program"])).unwrap_err();
        assert_eq!(failed.step, Step::Exec);
        assert_eq!(failed.error.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn a_missing_directory_fails_at_chdir() {
        let mut plan = plan(&["/bin/true"]);
        plan.cwd = Some(CString::new("/cuprum-no-such-dir").unwrap());
        let failed = spawn(&plan).unwrap_err();
        assert_eq!(failed.step, Step::Chdir);
        assert_eq!(failed.error.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn an_interior_nul_is_refused_before_anything_starts() {
        assert!(SpawnPlan::new(b"/bin/true".to_vec(), vec![b"a\0b".to_vec()], None, None).is_err());
    }
}
