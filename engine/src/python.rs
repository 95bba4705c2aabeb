//! The Python boundary: every PyO3 item of the native module
//! `cuprum._rust_backend_native` lives here and nowhere else.

use pyo3::prelude::*;

/// The native module. Its API is documented in
/// `cuprum/_rust_backend_native.pyi`.
#[pymodule]
#[pyo3(name = "_rust_backend_native")]
mod native {
    use pyo3::prelude::*;

    /// Report that the native engine was built and imported.
    #[pyfunction]
    fn is_available() -> bool {
        true
    }
}
