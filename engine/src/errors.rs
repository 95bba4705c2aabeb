//! `EngineError`: how a pair (or the engine) failed, in pure Rust.
//!
//! Invariant: an error that came from the operating system stays an
//! `io::Error` carrying its raw `errno`, so the one conversion to Python (in
//! `python.rs`) can build `OSError(errno, strerror)` and let Python pick the
//! PEP 3151 subclass. Nothing here knows about Python.

use std::fmt;
use std::io;

/// Why a pair did not finish with a byte count.
#[derive(Debug)]
pub enum EngineError {
    /// An I/O error from the operating system; `raw_os_error()` is kept.
    Os(io::Error),
    /// The pair was cancelled (its batch's [`crate::Batch::cancel`]) before
    /// it finished. By the time this is reported the pair is out of the
    /// engine: deregistered, flags restored, the engine's duplicates closed.
    Cancelled,
    /// The engine itself is broken (a bug or an exhausted process resource
    /// the engine needs for itself, not an error of the caller's pair).
    Internal(String),
    /// A descriptor the engine cannot pump without losing bytes (a
    /// datagram socket as the reader), refused before anything is read.
    Unpumpable(String),
}

impl EngineError {
    /// An OS error from a raw `errno` value.
    #[must_use]
    pub fn from_errno(errno: i32) -> Self {
        Self::Os(io::Error::from_raw_os_error(errno))
    }

    /// The OS `errno`, when this error came from the operating system.
    #[must_use]
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Os(err) => err.raw_os_error(),
            Self::Cancelled | Self::Internal(_) | Self::Unpumpable(_) => None,
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Os(err) => err.fmt(f),
            Self::Cancelled => f.write_str("pair cancelled"),
            Self::Internal(msg) => write!(f, "cuprum engine failure: {msg}"),
            Self::Unpumpable(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Os(err) => Some(err),
            Self::Cancelled | Self::Internal(_) | Self::Unpumpable(_) => None,
        }
    }
}

impl From<io::Error> for EngineError {
    fn from(err: io::Error) -> Self {
        Self::Os(err)
    }
}

#[cfg(test)]
mod tests {
    use super::EngineError;
    use std::io;

    #[test]
    fn os_errors_keep_their_errno() {
        let err = EngineError::from(io::Error::from_raw_os_error(libc::EBADF));
        assert_eq!(err.errno(), Some(libc::EBADF));
        assert!(err.to_string().contains("os error 9"), "{err}");
    }

    #[test]
    fn non_os_errors_have_no_errno() {
        assert_eq!(EngineError::Cancelled.errno(), None);
        assert_eq!(EngineError::Internal("x".into()).errno(), None);
    }
}
