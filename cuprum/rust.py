"""Whether the native engine is here: `is_rust_available` (the older cuprum's place).

Owns nothing new: the answer is `cuprum._pumps.native.is_available`'s (a
probe that imports the native module once). It says whether the engine is
installed and loads, not which backend ``CUPRUM_STREAM_BACKEND`` selects
(`cuprum.get_stream_backend` says that).
"""

from __future__ import annotations

from cuprum._pumps.native import is_available as is_rust_available

__all__ = ["is_rust_available"]
