//! The Python boundary: every `PyO3` item of the native module
//! `cuprum._rust_backend_native` lives here and nowhere else.
//!
//! The module's API is documented in `cuprum/_rust_backend_native.pyi`.
//! Waiting always happens with the GIL released, in slices of
//! [`SIGNAL_CHECK_INTERVAL`], so Ctrl-C (or any signal handler that raises)
//! is seen promptly: the batch is then cancelled and the exception raised
//! only once the engine has let go of every descriptor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyBaseException, PyOSError, PyValueError};
use pyo3::prelude::*;

use crate::{
    Batch, CompletionQueue, Doorbell, EngineError, Handle, PairResult, PairSpec, Started,
    MAX_BUFFER_SIZE,
};

/// `cuprum.EngineError`, the one class for failures of the engine itself.
/// It is defined in Python (`cuprum/_pumps/errors.py`), so that the pure-Python
/// backend raises the same class where the native module is absent; this
/// module only imports it.
mod py_errors {
    pyo3::import_exception!(cuprum._pumps.errors, EngineError);
}

/// How long a waiting call sleeps between two checks for signals.
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// The one conversion from the engine's errors to Python exceptions.
/// `OSError(errno, strerror)` lets Python pick the PEP 3151 subclass
/// (`BrokenPipeError`, `FileNotFoundError`, ...).
impl From<EngineError> for PyErr {
    fn from(error: EngineError) -> Self {
        if let EngineError::Unpumpable(msg) = &error {
            return PyValueError::new_err(msg.clone());
        }
        match error.errno() {
            Some(errno) => {
                // std formats an OS error as "<strerror> (os error N)".
                let text = std::io::Error::from_raw_os_error(errno).to_string();
                let strerror = text
                    .rsplit_once(" (os error")
                    .map_or(text.as_str(), |(head, _)| head)
                    .to_owned();
                PyOSError::new_err((errno, strerror))
            }
            None => py_errors::EngineError::new_err(error.to_string()),
        }
    }
}

fn check_fd(fd: i64, role: &str) -> PyResult<i32> {
    if fd < 0 {
        return Err(PyValueError::new_err(format!(
            "{role} must be a non-negative file descriptor, got {fd}"
        )));
    }
    i32::try_from(fd).map_err(|_| {
        PyValueError::new_err(format!("{role} {fd} is too large for a file descriptor"))
    })
}

fn check_buffer_size(buffer_size: i64) -> PyResult<usize> {
    match usize::try_from(buffer_size) {
        Ok(size) if size > 0 && size <= MAX_BUFFER_SIZE => Ok(size),
        _ => Err(PyValueError::new_err(format!(
            "buffer_size must be between 1 and {MAX_BUFFER_SIZE}, got {buffer_size}"
        ))),
    }
}

fn check_drain_timeout(drain_timeout: Option<f64>) -> PyResult<Option<Duration>> {
    drain_timeout
        .map(|seconds| {
            Duration::try_from_secs_f64(seconds).map_err(|_| {
                PyValueError::new_err(format!(
                    "drain_timeout must be a finite number >= 0, got {seconds}"
                ))
            })
        })
        .transpose()
}

/// Check a batch's arguments and build its specs.
fn pair_specs(
    pairs: Vec<(i64, i64)>,
    buffer_size: i64,
    drain_timeout: Option<f64>,
) -> PyResult<Vec<PairSpec>> {
    let buffer_size = check_buffer_size(buffer_size)?;
    let drain_timeout = check_drain_timeout(drain_timeout)?;
    pairs
        .into_iter()
        .enumerate()
        .map(|(index, (reader, writer))| {
            Ok(PairSpec {
                reader: check_fd(reader, &format!("pairs[{index}] reader_fd"))?,
                writer: check_fd(writer, &format!("pairs[{index}] writer_fd"))?,
                buffer_size,
                drain_timeout,
            })
        })
        .collect()
}

/// A pair's result as Python sees it in a batch: the byte count, or the
/// `OSError` instance that ended the pair.
fn result_to_py(py: Python<'_>, result: PairResult) -> PyResult<Py<PyAny>> {
    match result {
        Ok(written) => Ok(written.into_pyobject(py)?.into_any().unbind()),
        Err(error) => Ok(PyErr::from(error).into_value(py).into_any()),
    }
}

/// What a waiting call reports to Python while its batch runs.
#[derive(Clone, Copy, Default)]
struct Callbacks<'a, 'py> {
    /// `on_pair_done(index, result)`, as each pair ends.
    on_pair_done: Option<&'a Bound<'py, PyAny>>,
    /// `on_progress(bytes_written_per_pair)`, at most once per interval
    /// (`on_progress(bytes_written)` for a single-pair call).
    on_progress: Option<(&'a Bound<'py, PyAny>, Duration)>,
    /// Report progress as one int (the single-pair call) instead of a list.
    single: bool,
}

/// Submit `specs` as one batch and wait for every pair with the GIL
/// released, reporting through `callbacks` (with the GIL). Returns the
/// results in pair order.
fn run_batch(
    py: Python<'_>,
    mut specs: Vec<PairSpec>,
    callbacks: Callbacks<'_, '_>,
) -> PyResult<Vec<Py<PyAny>>> {
    let count = specs.len();
    let handle = Handle::global_for(&mut specs)?;
    let queue = CompletionQueue::new(count);
    let batch = handle.submit(specs, Arc::clone(&queue) as Arc<_>);
    wait_batch(py, &batch, &queue, count, callbacks)
}

/// Run one pair: inline while it never has to wait, else in the reactor.
fn run_one(py: Python<'_>, mut spec: PairSpec, callbacks: Callbacks<'_, '_>) -> PyResult<u64> {
    let handle = Handle::global_for(std::slice::from_mut(&mut spec))?;
    let queue = CompletionQueue::new(1);
    let completion = Arc::clone(&queue) as Arc<_>;
    match py.detach(|| handle.start_one(spec, completion)) {
        Started::Finished(result) => Ok(result?),
        Started::Running(batch) => {
            let mut results = wait_batch(py, &batch, &queue, 1, callbacks)?;
            let result = results.pop().expect("one pair, one result").into_bound(py);
            if result.is_instance_of::<PyBaseException>() {
                return Err(PyErr::from_value(result));
            }
            result.extract()
        }
    }
}

/// Wait for the `count` pairs of `batch` (reporting to `queue`) with the
/// GIL released, in slices short enough to see signals and report
/// progress on time. A signal handler or a callback that raises abandons
/// the batch; the error is raised once the engine has let go of it.
fn wait_batch(
    py: Python<'_>,
    batch: &Batch,
    queue: &CompletionQueue,
    count: usize,
    callbacks: Callbacks<'_, '_>,
) -> PyResult<Vec<Py<PyAny>>> {
    let mut results: Vec<Option<Py<PyAny>>> = (0..count).map(|_| None).collect();
    let mut remaining = count;
    let mut next_progress = callbacks
        .on_progress
        .map(|(_, every)| Instant::now() + every);
    let outcome = loop {
        if remaining == 0 {
            break Ok(());
        }
        let slice = next_progress.map_or(SIGNAL_CHECK_INTERVAL, |at| {
            at.saturating_duration_since(Instant::now())
                .min(SIGNAL_CHECK_INTERVAL)
        });
        let arrived = py.detach(|| queue.wait_timeout(slice));
        let mut failure = None;
        for (index, result) in arrived {
            remaining -= 1;
            let value = match result_to_py(py, result) {
                Ok(value) => value,
                Err(error) => {
                    // Cannot even build the result (out of memory): abandon
                    // the batch as for a raising callback.
                    failure.get_or_insert(error);
                    continue;
                }
            };
            if let (Some(callback), None) = (callbacks.on_pair_done, &failure) {
                if let Err(error) = callback.call1((index, value.clone_ref(py))) {
                    failure = Some(error);
                }
            }
            results[index] = Some(value);
        }
        if let Some(error) = failure {
            break Err(error);
        }
        if let (Some((callback, every)), Some(at)) = (callbacks.on_progress, next_progress) {
            let now = Instant::now();
            if now >= at && remaining > 0 {
                next_progress = Some(now + every);
                let progress = batch.progress();
                let reported = if callbacks.single {
                    callback.call1((progress.first().copied().unwrap_or(0),))
                } else {
                    callback.call1((progress,))
                };
                if let Err(error) = reported {
                    break Err(error);
                }
            }
        }
        if let Err(error) = py.check_signals() {
            break Err(error);
        }
    };
    if let Err(error) = outcome {
        // Abandon the batch; raise only once the engine has let go of
        // every descriptor (each cancelled pair reports its end), unless a
        // second signal says not to wait: a pair on the blocking path may
        // be stuck in a write nobody will ever take (a stopped terminal, a
        // socket nobody reads). Its own thread then ends it, releasing its
        // descriptors, whenever that write returns.
        batch.cancel();
        // A second signal counts once a full slice has passed since the
        // cancel, which pairs in the reactor need at most to report; so a
        // quick double Ctrl-C still waits for them.
        let cancelled_at = Instant::now();
        while queue.outstanding() > 0 {
            py.detach(|| queue.wait_timeout(SIGNAL_CHECK_INTERVAL));
            if cancelled_at.elapsed() < SIGNAL_CHECK_INTERVAL {
                continue;
            }
            if let Err(again) = py.check_signals() {
                again.set_cause(py, Some(error));
                return Err(again);
            }
        }
        return Err(error);
    }
    Ok(results
        .into_iter()
        .map(|value| value.expect("every pair reported its end"))
        .collect())
}

/// The optional progress callback and its interval, checked.
fn progress_callback<'a, 'py>(
    on_progress: Option<&'a Bound<'py, PyAny>>,
    progress_interval: f64,
) -> PyResult<Option<(&'a Bound<'py, PyAny>, Duration)>> {
    let every = match Duration::try_from_secs_f64(progress_interval) {
        Ok(every) if !every.is_zero() => every,
        _ => {
            return Err(PyValueError::new_err(format!(
                "progress_interval must be a finite number > 0, got {progress_interval}"
            )))
        }
    };
    Ok(on_progress.map(|callback| (callback, every)))
}

/// One event loop's doorbell: completions of every batch it started arrive
/// on one eventfd, which the loop watches with `add_reader`.
#[pyclass(module = "cuprum._rust_backend_native", frozen)]
struct AsyncDoorbell {
    inner: Arc<Doorbell>,
}

/// The pairs of one batch started through an [`AsyncDoorbell`].
#[pyclass(module = "cuprum._rust_backend_native", frozen)]
struct PumpBatch {
    batch: Batch,
    #[pyo3(get)]
    op_id: u64,
}

#[pymethods]
impl AsyncDoorbell {
    #[new]
    fn new() -> PyResult<Self> {
        Ok(Self {
            inner: Doorbell::new().map_err(EngineError::Os)?,
        })
    }

    fn fileno(&self) -> i32 {
        self.inner.fd()
    }

    #[pyo3(signature = (pairs, buffer_size = 65536, *, drain_timeout = None))]
    fn submit(
        &self,
        pairs: Vec<(i64, i64)>,
        buffer_size: i64,
        drain_timeout: Option<f64>,
    ) -> PyResult<PumpBatch> {
        let mut specs = pair_specs(pairs, buffer_size, drain_timeout)?;
        let handle = Handle::global_for(&mut specs)?;
        let (op_id, completion) = self.inner.operation();
        Ok(PumpBatch {
            batch: handle.submit(specs, completion),
            op_id,
        })
    }

    #[pyo3(signature = (reader_fd, writer_fd, buffer_size = 65536, *, drain_timeout = None))]
    fn start_one(
        &self,
        py: Python<'_>,
        reader_fd: i64,
        writer_fd: i64,
        buffer_size: i64,
        drain_timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let mut spec = PairSpec {
            reader: check_fd(reader_fd, "reader_fd")?,
            writer: check_fd(writer_fd, "writer_fd")?,
            buffer_size: check_buffer_size(buffer_size)?,
            drain_timeout: check_drain_timeout(drain_timeout)?,
        };
        let handle = Handle::global_for(std::slice::from_mut(&mut spec))?;
        let (op_id, completion) = self.inner.operation();
        match py.detach(|| handle.start_one(spec, completion)) {
            Started::Finished(result) => Ok(result?.into_pyobject(py)?.into_any().unbind()),
            Started::Running(batch) => Ok(Py::new(py, PumpBatch { batch, op_id })?.into_any()),
        }
    }

    fn drain(&self, py: Python<'_>) -> PyResult<Vec<(u64, usize, Py<PyAny>)>> {
        self.inner
            .take()
            .into_iter()
            .map(|(op, index, result)| Ok((op, index, result_to_py(py, result)?)))
            .collect()
    }
}

#[pymethods]
impl PumpBatch {
    fn cancel(&self) {
        self.batch.cancel();
    }

    fn progress(&self) -> Vec<u64> {
        self.batch.progress()
    }
}

/// The native module.
#[pymodule]
#[pyo3(name = "_rust_backend_native")]
mod native {
    use pyo3::prelude::*;

    use super::{
        check_buffer_size, check_drain_timeout, check_fd, pair_specs, progress_callback, run_batch,
        run_one, Callbacks,
    };
    use crate::PairSpec;

    /// Report that the native engine was built and imported.
    #[pyfunction]
    fn is_available() -> bool {
        true
    }

    /// Allow or forbid the splice fast path; see the `.pyi` stub.
    #[pyfunction]
    fn set_splice_enabled(enabled: bool) {
        crate::set_splice_enabled(enabled);
    }

    /// Whether the splice fast path is allowed; see the `.pyi` stub.
    #[pyfunction]
    fn splice_enabled() -> bool {
        crate::splice_enabled()
    }

    /// Pump one pair to EOF; see the `.pyi` stub.
    #[pyfunction]
    #[pyo3(signature = (
        reader_fd, writer_fd, buffer_size = 65536, *,
        drain_timeout = None, on_progress = None, progress_interval = 0.25,
    ))]
    fn rust_pump_stream(
        py: Python<'_>,
        reader_fd: i64,
        writer_fd: i64,
        buffer_size: i64,
        drain_timeout: Option<f64>,
        on_progress: Option<&Bound<'_, PyAny>>,
        progress_interval: f64,
    ) -> PyResult<u64> {
        let spec = PairSpec {
            reader: check_fd(reader_fd, "reader_fd")?,
            writer: check_fd(writer_fd, "writer_fd")?,
            buffer_size: check_buffer_size(buffer_size)?,
            drain_timeout: check_drain_timeout(drain_timeout)?,
        };
        let progress = progress_callback(on_progress, progress_interval)?;
        let callbacks = Callbacks {
            on_pair_done: None,
            on_progress: progress,
            single: true,
        };
        run_one(py, spec, callbacks)
    }

    /// Pump many pairs concurrently; see the `.pyi` stub.
    #[pyfunction]
    #[pyo3(signature = (
        pairs, buffer_size = 65536, *, drain_timeout = None,
        on_pair_done = None, on_progress = None, progress_interval = 0.25,
    ))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn rust_pump_many(
        py: Python<'_>,
        pairs: Vec<(i64, i64)>,
        buffer_size: i64,
        drain_timeout: Option<f64>,
        on_pair_done: Option<&Bound<'_, PyAny>>,
        on_progress: Option<&Bound<'_, PyAny>>,
        progress_interval: f64,
    ) -> PyResult<Vec<Py<PyAny>>> {
        let specs = pair_specs(pairs, buffer_size, drain_timeout)?;
        let callbacks = Callbacks {
            on_pair_done,
            on_progress: progress_callback(on_progress, progress_interval)?,
            single: false,
        };
        run_batch(py, specs, callbacks)
    }

    #[pymodule_export]
    use super::{AsyncDoorbell, PumpBatch};

    /// Adds the test-only fault switch where the feature is on.
    #[pymodule_init]
    #[cfg_attr(
        not(any(feature = "fault-injection", linux_calls)),
        allow(
            clippy::unnecessary_wraps,
            clippy::needless_pass_by_value,
            unused_variables,
            reason = "the body is empty without the fault-injection feature"
        )
    )]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        #[cfg(linux_calls)]
        module.add_function(wrap_pyfunction!(super::spawn, module)?)?;
        #[cfg(feature = "fault-injection")]
        {
            module.add_function(wrap_pyfunction!(super::fail_next_pairs, module)?)?;
            module.add_function(wrap_pyfunction!(super::hang_next_blocking_pairs, module)?)?;
            module.add_function(wrap_pyfunction!(super::release_hung_pairs, module)?)?;
        }
        Ok(())
    }
}

/// Start a pipeline stage (Linux); see the `.pyi` stub and `crate::spawn`.
#[cfg(linux_calls)]
#[pyfunction]
#[pyo3(signature = (program, argv, env, cwd, fds, *, new_group, death_signal))]
#[allow(
    clippy::too_many_arguments,
    clippy::needless_pass_by_value,
    reason = "the keywords of one spawn, as Python passes them"
)]
fn spawn(
    py: Python<'_>,
    program: Vec<u8>,
    argv: Vec<Vec<u8>>,
    env: Option<Vec<Vec<u8>>>,
    cwd: Option<Vec<u8>>,
    fds: (i32, i32, i32),
    new_group: bool,
    death_signal: i32,
) -> PyResult<i32> {
    use crate::spawn::{spawn, SpawnPlan, Step};

    let shown_program = String::from_utf8_lossy(&program).into_owned();
    let shown_cwd = cwd
        .as_deref()
        .map(|c| String::from_utf8_lossy(c).into_owned());
    let mut plan = SpawnPlan::new(program, argv, env, cwd)
        .map_err(|_| PyValueError::new_err("embedded null byte"))?;
    plan.fds = [fds.0, fds.1, fds.2];
    plan.new_group = new_group;
    plan.death_signal = death_signal;
    py.detach(|| spawn(&plan)).map_err(|failed| {
        let errno = failed.error.raw_os_error().unwrap_or(0);
        let text = failed.error.to_string();
        let strerror = text
            .rsplit_once(" (os error")
            .map_or(text.as_str(), |(head, _)| head)
            .to_owned();
        match (failed.step, shown_cwd) {
            (Step::Exec, _) => PyOSError::new_err((errno, strerror, shown_program)),
            (Step::Chdir, Some(cwd)) => PyOSError::new_err((errno, strerror, cwd)),
            _ => PyOSError::new_err((errno, strerror)),
        }
    })
}

/// Test-only (the `fault-injection` feature): make the reactor fail the
/// next `count` pairs it admits with `cuprum.EngineError`.
#[cfg(feature = "fault-injection")]
#[pyfunction]
#[pyo3(name = "_fail_next_pairs")]
fn fail_next_pairs(count: usize) {
    crate::fail_next_pairs(count);
}

/// Test-only (the `fault-injection` feature): make the next `count` pairs
/// of the blocking path hang after their first step, cancel or not, each
/// writing `hung\n` to `notice_fd` (if given) as it stops.
#[cfg(feature = "fault-injection")]
#[pyfunction]
#[pyo3(name = "_hang_next_blocking_pairs", signature = (count, notice_fd = -1))]
fn hang_next_blocking_pairs(count: usize, notice_fd: i32) {
    crate::hang_next_blocking_pairs(count, notice_fd);
}

/// Test-only (the `fault-injection` feature): let every hung pair go on.
#[cfg(feature = "fault-injection")]
#[pyfunction]
#[pyo3(name = "_release_hung_pairs")]
fn release_hung_pairs(py: Python<'_>) {
    py.detach(crate::release_hung_pairs);
}
