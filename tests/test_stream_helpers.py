"""The pure-Python asyncio stream helpers: `_pump_stream` and `_consume_stream`.

`_pump_stream` is exercised between real subprocesses (and with a writer
whose connection resets); `_consume_stream` with ``asyncio.StreamReader``
objects fed by hand, so every chunk boundary is chosen by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import typing as typ

import pytest

from cuprum._pumps.python_backend import _consume_stream, _pump_stream

if typ.TYPE_CHECKING:
    import collections.abc as cabc

GUARD_SECONDS = 30
"""Bound on any awaited step: a hang guard, not a measurement."""


def run(coro: cabc.Coroutine[typ.Any, typ.Any, typ.Any]) -> typ.Any:
    return asyncio.run(asyncio.wait_for(coro, GUARD_SECONDS))


def seq_output(last: int) -> bytes:
    """What ``seq 1 last`` prints."""
    return b"".join(b"%d\n" % number for number in range(1, last + 1))


async def close_stdin(process: asyncio.subprocess.Process) -> None:
    """Close a child's stdin, as its owner (the helper never closes it)."""
    assert process.stdin is not None
    process.stdin.close()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        await process.stdin.wait_closed()


# ---------------------------------------------------------------------------
# _pump_stream
# ---------------------------------------------------------------------------


def test_pump_stream_copies_one_process_into_another() -> None:
    expected = seq_output(200_000)

    async def main() -> tuple[int, bytes, int, int]:
        upstream = await asyncio.create_subprocess_exec(
            "seq", "1", "200000", stdout=asyncio.subprocess.PIPE
        )
        downstream = await asyncio.create_subprocess_exec(
            "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert upstream.stdout is not None
        assert downstream.stdin is not None
        assert downstream.stdout is not None
        reading = asyncio.ensure_future(downstream.stdout.read())
        count = await _pump_stream(upstream.stdout, downstream.stdin)
        assert not downstream.stdin.is_closing()  # the writer is its owner's
        await close_stdin(downstream)
        received = await reading
        return count, received, await upstream.wait(), await downstream.wait()

    count, received, upstream_code, downstream_code = run(main())
    assert count == len(expected)
    assert received == expected
    assert (upstream_code, downstream_code) == (0, 0)


@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
def test_pump_stream_chunk_size_changes_nothing(chunk_size: int) -> None:
    expected = seq_output(3000)

    async def main() -> tuple[int, bytes]:
        upstream = await asyncio.create_subprocess_exec(
            "seq", "1", "3000", stdout=asyncio.subprocess.PIPE
        )
        downstream = await asyncio.create_subprocess_exec(
            "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert upstream.stdout is not None
        assert downstream.stdin is not None
        assert downstream.stdout is not None
        reading = asyncio.ensure_future(downstream.stdout.read())
        count = await _pump_stream(
            upstream.stdout, downstream.stdin, chunk_size=chunk_size
        )
        await close_stdin(downstream)
        received = await reading
        assert await upstream.wait() == 0
        assert await downstream.wait() == 0
        return count, received

    assert run(main()) == (len(expected), expected)


def test_pump_stream_into_a_consumer_that_leaves_early() -> None:
    """``head -c 10`` takes ten bytes of a large stream and exits."""
    last = 600_000  # about 4.5 MB: far more than any pipe buffers
    total = len(seq_output(last))

    async def main() -> tuple[int, bytes, int, int]:
        upstream = await asyncio.create_subprocess_exec(
            "seq", "1", str(last), stdout=asyncio.subprocess.PIPE
        )
        downstream = await asyncio.create_subprocess_exec(
            "head",
            "-c",
            "10",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert upstream.stdout is not None
        assert downstream.stdin is not None
        assert downstream.stdout is not None
        reading = asyncio.ensure_future(downstream.stdout.read())
        count = await _pump_stream(upstream.stdout, downstream.stdin)
        # The upstream was drained to its end, so it finished on its own.
        upstream_code = await upstream.wait()
        assert upstream.stdout.at_eof()
        await close_stdin(downstream)
        return count, await reading, upstream_code, await downstream.wait()

    count, head, upstream_code, downstream_code = run(main())
    assert head == b"1\n2\n3\n4\n5\n"
    assert 0 <= count < total
    assert upstream_code == 0
    assert downstream_code == 0


class _ResettingWriter:
    """A writer whose peer resets the connection after ``accept`` bytes."""

    def __init__(self, accept: int) -> None:
        self.accept = accept
        self.received = bytearray()
        self.pending = b""
        self.writes = 0
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.pending = data

    async def drain(self) -> None:
        if len(self.received) + len(self.pending) > self.accept:
            raise ConnectionResetError(104, "Connection reset by peer")
        self.received += self.pending

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    "error", [ConnectionResetError, BrokenPipeError], ids=lambda error: error.__name__
)
def test_pump_stream_stops_writing_after_the_downstream_breaks(
    error: type[OSError],
) -> None:
    async def main() -> tuple[int, _ResettingWriter, asyncio.StreamReader]:
        reader = asyncio.StreamReader()
        for _ in range(10):
            reader.feed_data(b"x" * 100)
        reader.feed_eof()
        writer = _ResettingWriter(accept=250)
        writer_drain = writer.drain

        async def drain() -> None:
            try:
                await writer_drain()
            except ConnectionResetError as reset:
                raise error(*reset.args) from None

        writer.drain = drain  # type: ignore[method-assign]
        count = await _pump_stream(
            reader,
            typ.cast("asyncio.StreamWriter", writer),
            chunk_size=100,
        )
        return count, writer, reader

    count, writer, reader = run(main())
    assert count == 200  # two chunks went through before the break
    assert bytes(writer.received) == b"x" * 200
    assert writer.writes == 3  # nothing was written after the break
    assert reader.at_eof()  # but the reader was drained to its end
    assert not writer.closed  # and the writer is left to its owner


# ---------------------------------------------------------------------------
# _consume_stream
# ---------------------------------------------------------------------------


async def _fed(*chunks: bytes) -> asyncio.StreamReader:
    """A reader holding ``chunks`` and then EOF (made inside the running loop)."""
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    reader.feed_eof()
    return reader


async def _consume(*chunks: bytes, **kwargs: typ.Any) -> str:
    return await _consume_stream(await _fed(*chunks), **kwargs)


def test_consume_decodes_utf8_by_default() -> None:
    text = "héllo wörld ✓ — 日本語 🎉\n"
    assert run(_consume(text.encode())) == text


def test_consume_empty_stream() -> None:
    assert run(_consume()) == ""


def test_consume_replaces_invalid_utf8() -> None:
    assert run(_consume(b"ok \xff\xfe end\n")) == "ok \ufffd\ufffd end\n"


def test_consume_replaces_a_character_cut_off_at_eof() -> None:
    # The first two bytes of "€" (e2 82 ac), then the stream ends.
    assert run(_consume(b"price: \xe2\x82")) == "price: \ufffd"


def test_consume_can_be_strict() -> None:
    with pytest.raises(UnicodeDecodeError):
        run(_consume(b"bad \xff", errors="strict"))


TEXT_WITH_WIDE_CHARACTERS = "a€b😀c日本\u00e9\n" * 3


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7])
def test_consume_decodes_a_character_split_across_reads(chunk_size: int) -> None:
    data = TEXT_WITH_WIDE_CHARACTERS.encode()
    assert run(_consume(data, chunk_size=chunk_size)) == TEXT_WITH_WIDE_CHARACTERS


def test_consume_decodes_a_character_split_across_arrivals() -> None:
    """Bytes of one character arrive separately while the consumer waits."""

    async def main() -> str:
        reader = asyncio.StreamReader()
        consuming = asyncio.ensure_future(_consume_stream(reader))
        for byte in "x€😀y".encode():
            reader.feed_data(bytes([byte]))
            await asyncio.sleep(0)  # usually one byte per read; either way, same text
        reader.feed_eof()
        return await consuming

    assert run(main()) == "x€😀y"


class _RecordingSink(io.StringIO):
    """A text sink that records every write and flush."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.first_write = asyncio.Event()

    def write(self, text: str) -> int:
        self.events.append(f"write:{text}")
        self.first_write.set()
        return super().write(text)

    def flush(self) -> None:
        self.events.append("flush")
        super().flush()


def test_consume_tees_the_same_text_to_the_sink() -> None:
    data = TEXT_WITH_WIDE_CHARACTERS.encode() + b"\xff tail"

    async def main() -> tuple[str, _RecordingSink]:
        sink = _RecordingSink()
        text = await _consume(data, sink=sink, chunk_size=3)
        return text, sink

    text, sink = run(main())
    assert text == TEXT_WITH_WIDE_CHARACTERS + "\ufffd tail"
    assert sink.getvalue() == text
    # Every piece is flushed as it is written, for live echo.
    writes = [event for event in sink.events if event.startswith("write:")]
    assert len(writes) > 1
    assert sink.events == [event for write in writes for event in (write, "flush")]


def test_consume_echoes_to_the_sink_before_the_stream_ends() -> None:
    async def main() -> tuple[str, str, str]:
        sink = _RecordingSink()
        reader = asyncio.StreamReader()
        consuming = asyncio.ensure_future(_consume_stream(reader, sink=sink))
        reader.feed_data("first line ✓\n".encode())
        await asyncio.wait_for(sink.first_write.wait(), GUARD_SECONDS)
        seen_before_eof = sink.getvalue()
        reader.feed_data(b"second line\n")
        reader.feed_eof()
        return seen_before_eof, await consuming, sink.getvalue()

    seen_before_eof, text, echoed = run(main())
    assert seen_before_eof == "first line ✓\n"
    assert text == echoed == "first line ✓\nsecond line\n"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("latin-1", "café déjà vu ÿ\n"),
        ("cp1252", "price: 5\u20ac \u2013 \u201cquoted\u201d\n"),
        ("utf-16", "wide: 日本語 😀\n"),
        ("utf-16-le", "le: ü€\n"),
        ("shift_jis", "日本語のテキスト\n"),
        ("utf-8-sig", "bom stripped\n"),
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 3, 65536])
def test_consume_other_encodings(encoding: str, text: str, chunk_size: int) -> None:
    data = text.encode(encoding)
    assert run(_consume(data, encoding=encoding, chunk_size=chunk_size)) == text


def test_consume_replacement_in_another_encoding() -> None:
    # 0x81 is undefined in cp1252; the rest decodes.
    assert run(_consume(b"a\x81b\x80", encoding="cp1252")) == "a\ufffdb€"


def test_consume_unknown_encoding_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        run(_consume(b"text", encoding="no-such-codec"))


def test_consume_a_subprocess_stdout() -> None:
    script = (
        "import sys; sys.stdout.buffer.write("
        "'naïve ✓\\n'.encode() + b'\\xff\\n' + '😀'.encode() * 5000)"
    )

    async def main() -> tuple[str, int]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        text = await _consume_stream(process.stdout, chunk_size=1001)
        return text, await process.wait()

    text, code = run(main())
    assert text == "naïve ✓\n\ufffd\n" + "😀" * 5000
    assert code == 0
