"""Moving bytes between descriptors: the public pump calls and both backends.

The bottom layer: nothing here knows of runs, stages or scopes. `calls`
holds the public pump calls (validate once, call the selected backend);
`choice` resolves ``CUPRUM_STREAM_BACKEND`` and gives the backend, which
is `python_backend` (the reference, over `python_pair`) or `rust_backend`
(the only importer of the native module, whose availability `native`
probes). `options`, `awaiting`, `reactor` (what a waiter waits on, with a
`selectors` reactor per thread), `threads`, `progress` and `errors` are
what both backends, and the layers above, share.
"""
