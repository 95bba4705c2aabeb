"""cuprum: typed, async subprocess pipelines with a Rust pump engine.

The pump calls move bytes between descriptors through the selected stream
backend: the Rust engine when it is installed, the pure-Python backend
otherwise (``CUPRUM_STREAM_BACKEND=auto|rust|python``).
"""

from __future__ import annotations

from cuprum._backend import StreamBackend, get_stream_backend
from cuprum._pump import pump_many, pump_many_async, pump_stream, pump_stream_async
from cuprum._rust_backend import is_available as is_rust_available

__all__ = [
    "StreamBackend",
    "get_stream_backend",
    "is_rust_available",
    "pump_many",
    "pump_many_async",
    "pump_stream",
    "pump_stream_async",
]
