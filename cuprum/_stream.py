"""Streaming a pipeline's output: the last stage's stdout, read as it comes.

Owns `PipelineStream` (``async with pipeline.stream(...) as out``),
`SyncPipelineStream` (``with pipeline.stream_sync(...) as out``, which
drives an event loop of its own step by step, with no thread) and what
they hold of the output (`_Held`: whole lines and a rest, as bytes; lines
are decoded as they are handed out). Both drive a `cuprum._run.Run`
made with ``stream=True``: its last stage writes to a pipe whose read end
the caller's iteration reads directly, one chunk at a time.

How a stream goes (contract 9.9):

* entering the block checks, spawns and starts everything, as ``run``
  does; the run's ``timeout`` starts counting then;
* each step of the iteration reads at most `CHUNK` bytes, waiting on the
  loop (``add_reader``) when the pipe is empty; nothing is read ahead, so a
  slow consumer leaves the last stage blocked on a full pipe;
* leaving the block after the end of the output waits for the stages (as
  ``run`` does); leaving it earlier (``break``, an exception) counts as
  the last stage's downstream leaving: what is still written is dropped
  and every stage still running is terminated and reaped, as a
  cancellation does;
* the deadline passing raises `TimeoutExpired` from the iteration in
  progress (or the next one), after the clean-up, or at the block's exit
  when no iteration comes; ``check=True`` raises at the block's exit;
* an observed stream (`cuprum._observe.Observer`) tells the lines of what
  the caller reads as it reads them, and a hook's failure is raised at the
  block's exit (or from the iteration a timeout ends), after the clean-up.

Lines are the stream's, not an iterator's (contract section 11 rule 6):
the stream holds the bytes it read and has not handed out, ``lines()``
cuts lines from them and chunks hand them out first, so iterations can be
left, started again and mixed without losing or repeating a byte.

Invariants: cuprum holds at most one chunk of the output plus one
unfinished line of at most `LINE_LIMIT` bytes; the block's exit returns or
raises only after every stage is reaped and every descriptor the run made is closed; an
exception that leaves the block is never replaced by the run's own.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import os
import typing as typ

from cuprum._fdio import readable
from cuprum._run import Run, prepare
from cuprum._tasks import finish_despite_cancel
from cuprum.results import PipelineError, TimeoutExpired

if typ.TYPE_CHECKING:
    import collections.abc as cabc
    import types

    from cuprum._observe import Observer
    from cuprum._request import RunRequest, StageSpec
    from cuprum.results import PipelineResult

CHUNK: typ.Final = 1 << 16
"""The most one step of the iteration reads (and so holds) at a time."""
LINE_LIMIT: typ.Final = 1 << 20
"""Characters after which a line without ``\\n`` is yielded in pieces."""


class PipelineStream:
    """A running pipeline whose last stage's stdout the caller reads.

    Made by `cuprum.Pipeline.stream` and `cuprum.SafeCmd.stream`; use it as
    ``async with pipeline.stream() as out:``, then ``async for chunk in
    out`` (``bytes``) or ``async for line in out.lines()`` (``str``). After
    the block, `result` is the `PipelineResult`. One stream is one run: it
    can be entered once.
    """

    def __init__(
        self,
        stages: cabc.Sequence[StageSpec],
        request: RunRequest,
        observer: Observer | None = None,
        after: cabc.Callable[[PipelineResult], None] | None = None,
    ) -> None:
        self._stages = stages
        self._request = request
        self._observer = observer
        self._after = after
        """Given the result when the block ends without raising (after hooks)."""
        self._entered = False
        self._run: Run | None = None
        """The run while it goes; dropped at its end (it holds the loop)."""
        self._result: PipelineResult | None = None
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._expired = False
        self._eof = False
        self._done = False
        output = request.output
        self._codec = (output.encoding, output.errors)
        bytewise = _newline_is_one_byte(output.encoding)
        self._held = _Held(split=bytewise)
        """Output read from the pipe but not yet handed out (lines cut from it)."""
        self._text = None if bytewise else _TextLines(*self._codec)
        """Where lines are cut when a newline is not one byte in the encoding."""

    @property
    def result(self) -> PipelineResult:
        """How the run ended (``stdout`` is ``None``); known after the block.

        Raises
        ------
        RuntimeError
            Before the block has exited.

        """
        if self._result is None:
            msg = "the result is known once the stream's block has exited"
            raise RuntimeError(msg)
        return self._result

    async def __aenter__(self) -> typ.Self:
        """Check everything, spawn every stage and start the run."""
        if self._entered:
            msg = "a stream runs once: call stream() again for another run"
            raise RuntimeError(msg)
        self._entered = True
        try:
            stages = prepare(self._stages, self._request, self._observer)
        except BaseException:
            self._done = True  # nothing was started: nothing to end
            raise
        run = self._run = Run(
            stages, self._request, stream=True, observer=self._observer
        )
        timeout = self._request.timeout
        if timeout is not None:
            loop = asyncio.get_running_loop()
            self._deadline = loop.time() + timeout
            self._timer = loop.call_at(self._deadline, self._expire)
        try:
            await run.start()
            os.set_blocking(_stream_fd(run), False)
        except BaseException:
            self._done = True
            self._stop_timer()
            try:
                await finish_despite_cancel(run.shutdown(abnormal=True))
            finally:
                self._run = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        """End the run (early: terminate it), reap, then raise what it calls for."""
        self._check_entered()
        if self._done:  # a timeout ended the run, and was raised
            return
        run = typ.cast("Run", self._run)
        self._done = True
        self._stop_timer()
        if self._past_deadline():
            self._mark_expired()
        normal = False
        try:
            if self._eof and not self._expired:
                async with asyncio.timeout_at(self._deadline):
                    await run.wait()
                normal = True
            else:
                run.leave_stream()
        except TimeoutError:
            if not self._past_deadline():
                raise
            self._mark_expired()
        finally:
            try:
                await finish_despite_cancel(run.shutdown(abnormal=not normal))
            finally:
                self._run = None
        result = self._result = run.result()
        if exc_type is None:
            self._conclude(run, result)

    def _conclude(self, run: Run, result: PipelineResult) -> None:
        """Raise what the ended run calls for; give a good end to the after hooks."""
        if self._observer is not None:
            self._observer.raise_error()
        if self._expired:
            raise TimeoutExpired(typ.cast("float", self._request.timeout), result)
        run.raise_hop_error()
        if self._after is not None:
            self._after(result)
        if self._request.check and not result.ok:
            raise PipelineError(result)

    def __aiter__(self) -> PipelineStream:
        """Iterate over the output's chunks."""
        return self

    async def __anext__(self) -> bytes:
        """Return the next chunk of the output (at most `CHUNK` bytes)."""
        chunk = await self.read_chunk()
        if not chunk:
            raise StopAsyncIteration
        return chunk

    async def lines(self) -> cabc.AsyncIterator[str]:
        r"""Iterate over the output's lines, decoded per the run's ``output``.

        Each line ends with the ``\n`` that ended it; a last line without
        one comes as it is; a line longer than `LINE_LIMIT` characters
        comes in pieces of that size. Iterating may be left and started
        again, and mixed with reading chunks: each continues where the last
        stopped (contract section 11 rule 6).
        """
        whole, (encoding, errors) = self._held.lines, self._codec
        while True:
            while whole:  # the lines of the chunks read so far, undecoded
                yield whole.popleft().decode(encoding, errors) + "\n"
            line = await self.next_line()
            if line is None:
                return
            yield line

    async def read_chunk(self) -> bytes:
        r"""Return the next chunk of the output, or ``b""`` at its end.

        Output already read for ``lines()`` and not yet handed out comes
        first.

        Raises
        ------
        TimeoutExpired
            When the deadline passed, after every stage is reaped.
        RuntimeError
            After ``lines()`` of an encoding in which ``\n`` is not the
            byte ``\n`` (UTF-16, UTF-32) left decoded text unread.

        """
        self._check_entered()
        if self._text is not None and self._text.holds_text():
            msg = (
                f"lines() of this {self._codec[0]} output hold decoded text: "
                "read them to the end before reading chunks"
            )
            raise RuntimeError(msg)
        if self._held:
            return self._held.take()
        return await self._read_pipe()

    @property
    def codec(self) -> tuple[str, str]:
        """The output's encoding and errors, as lines are decoded."""
        return self._codec

    def held_lines(self) -> collections.deque[bytes]:
        """Return the whole lines held, undecoded and without their newline.

        Always empty under an encoding whose newline is not one byte (its
        lines are cut from decoded text). Handing one out removes it.
        """
        return self._held.lines

    def cut_line(self) -> str | None:
        """Return the next line already read, or ``None`` if more must be read.

        At the end of the output, what is left comes as the last line; after
        that, ``None`` as well (`next_line` tells the two apart).
        """
        held = self._held
        if self._text is not None:
            return self._text.cut(held.take(), ended=self._eof)
        if held.lines:
            return held.lines.popleft().decode(*self._codec) + "\n"
        rest = held.rest
        if len(rest) >= LINE_LIMIT or (self._eof and rest):
            # A piece of an overlong line, or the last line.
            return self._decode_piece()
        return None

    async def next_line(self) -> str | None:
        """Return the next line of the output, or ``None`` after the last."""
        self._check_entered()
        while (line := self.cut_line()) is None:
            if self._done or self._eof:
                return None
            self._held.add(await self._read_pipe())
        return line

    def _decode_piece(self) -> str:
        r"""Cut and decode at most `LINE_LIMIT` bytes of a line without ``\n``.

        A character the piece would split stays held for the next piece.
        """
        rest = self._held.rest
        final = self._eof and len(rest) <= LINE_LIMIT
        decoder = codecs.getincrementaldecoder(self._codec[0])(errors=self._codec[1])
        text = decoder.decode(rest[:LINE_LIMIT], final=final)
        left = decoder.getstate()[0]
        self._held.rest = rest[min(len(rest), LINE_LIMIT) - len(left) :]
        return text

    async def _read_pipe(self) -> bytes:
        """Read the next chunk from the last stage's pipe (``b""`` at its end)."""
        if self._done or self._eof:
            return b""
        run = typ.cast("Run", self._run)
        fd = _stream_fd(run)
        loop = asyncio.get_running_loop()
        while True:
            if self._expired:
                await self._time_out(run)
            try:
                data = os.read(fd, CHUNK)
            except BlockingIOError:
                try:
                    async with asyncio.timeout_at(self._deadline):
                        await readable(loop, fd)
                except TimeoutError:
                    self._mark_expired()
                continue
            lines = run.stream_lines
            if not data:
                if lines is not None:
                    lines.finish()
                self._eof = True
                return b""
            if lines is not None:
                lines.feed(data)
            # One turn of the loop per chunk: a fast producer never starves
            # the run's own callbacks (hop ends, exits, progress).
            await asyncio.sleep(0)
            return data

    # -- internals -------------------------------------------------------------

    def _check_entered(self) -> None:
        if not self._entered:
            msg = "use the stream inside its block: async with pipeline.stream() as out"
            raise RuntimeError(msg)

    def _expire(self) -> None:
        """Mark the deadline passed and terminate the stages (raised when read)."""
        self._mark_expired()
        if self._run is not None:
            self._run.end_all()

    def _mark_expired(self) -> None:
        """Note the deadline passed; tell the observers once, before the exits."""
        if not self._expired and self._observer is not None:
            self._observer.timeout(self._request.timeout)
        self._expired = True

    def _past_deadline(self) -> bool:
        deadline = self._deadline
        return deadline is not None and asyncio.get_running_loop().time() >= deadline

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _time_out(self, run: Run) -> typ.NoReturn:
        self._done = True
        self._stop_timer()
        run.leave_stream()
        try:
            await finish_despite_cancel(run.shutdown(abnormal=True))
        finally:
            self._run = None
        self._result = run.result()
        if self._observer is not None:
            self._observer.raise_error()
        raise TimeoutExpired(typ.cast("float", self._request.timeout), self._result)


class _Held:
    r"""Output read and not yet handed out: whole lines, then the rest.

    Lines are kept as bytes without their ``\n`` (cut with one C-level
    ``split`` per chunk) and decoded one by one as they are handed out, so
    chunks read later get the same bytes back.
    """

    __slots__ = ("lines", "rest", "split")

    def __init__(self, *, split: bool) -> None:
        self.lines: collections.deque[bytes] = collections.deque()
        self.rest = b""
        self.split = split
        """Whether to cut lines at the byte ``\\n`` (else all is ``rest``)."""

    def __bool__(self) -> bool:
        """Say whether anything is held."""
        return bool(self.lines or self.rest)

    def add(self, data: bytes) -> None:
        """Hold ``data`` too, cut into whole lines and a rest."""
        if not self.split or b"\n" not in data:
            self.rest += data
            return
        parts = (self.rest + data).split(b"\n")
        self.rest = parts.pop()
        self.lines.extend(parts)

    def take(self) -> bytes:
        """Hand out everything held, as bytes."""
        lines = self.lines
        data = b"\n".join(lines) + b"\n" if lines else b""
        lines.clear()  # in place: an iteration may hold this deque
        data, self.rest = data + self.rest, b""
        return data


class _TextLines:
    r"""Lines cut from decoded text, for encodings whose ``\n`` is not a byte.

    It takes every byte the stream holds and keeps the text it decoded, so
    chunks cannot be read again until its lines are.
    """

    def __init__(self, encoding: str, errors: str) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
        self._ready: collections.deque[str] = collections.deque()
        self._partial = ""

    def holds_text(self) -> bool:
        """Say whether decoded text waits to be handed out as lines."""
        return bool(self._ready or self._partial)

    def cut(self, held: bytes, *, ended: bool) -> str | None:
        """Decode ``held`` too and return the next line, if whole."""
        parts = (self._partial + self._decoder.decode(held, final=ended)).split("\n")
        self._partial = parts.pop()
        self._ready.extend(part + "\n" for part in parts)
        while len(self._partial) >= LINE_LIMIT:
            self._ready.append(self._partial[:LINE_LIMIT])
            self._partial = self._partial[LINE_LIMIT:]
        if ended and self._partial:
            self._ready.append(self._partial)
            self._partial = ""
        return self._ready.popleft() if self._ready else None


def _newline_is_one_byte(encoding: str) -> bool:
    r"""Say whether ``encoding`` writes ``\n`` as the byte ``\n`` alone.

    Then no other character's bytes contain it (UTF-8, Latin-1 and every
    other ASCII-compatible encoding), and lines can be cut before decoding.
    """
    return "\n".encode(encoding) == b"\n"


class SyncPipelineStream:
    """`PipelineStream` for ordinary code: ``with pipeline.stream_sync() as out``.

    Drives an event loop of its own (an `asyncio.Runner`) one step at a
    time: entering the block, each chunk or line, leaving it. Between steps
    the loop does not run and no thread runs for it; the stages simply wait
    on their pipes. Iterate with ``for chunk in out`` or ``for line in
    out.lines()``; `result` after the block.
    """

    def __init__(self, stream: PipelineStream, caller: str) -> None:
        self._stream = stream
        self._caller = caller
        self._runner: asyncio.Runner | None = None
        self._closed = False

    @property
    def result(self) -> PipelineResult:
        """How the run ended; see `PipelineStream.result`."""
        return self._stream.result

    def __enter__(self) -> typ.Self:
        """Start the run on a fresh event loop.

        Raises
        ------
        RuntimeError
            Inside a running event loop (use ``async with stream()`` there).

        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # no loop runs here: the usual case
        else:
            msg = (
                f"{self._caller}() cannot be used in a running event loop; "
                "use async with stream()"
            )
            raise RuntimeError(msg)
        runner = self._runner = asyncio.Runner()
        try:
            runner.run(self._stream.__aenter__())
        except BaseException:
            runner.close()
            self._runner, self._closed = None, True
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        """End the run as `PipelineStream` does, then close the loop."""
        runner = self._started()
        try:
            runner.run(self._stream.__aexit__(exc_type, exc, traceback))
        finally:
            runner.close()
            self._runner, self._closed = None, True  # the loop can go

    def __iter__(self) -> SyncPipelineStream:
        """Iterate over the output's chunks."""
        return self

    def __next__(self) -> bytes:
        """Return the next chunk of the output."""
        if self._closed:
            raise StopIteration
        chunk = self._started().run(self._stream.read_chunk())
        if not chunk:
            raise StopIteration
        return chunk

    def lines(self) -> cabc.Iterator[str]:
        """Iterate over the output's decoded lines; see `PipelineStream.lines`.

        Lines already read are handed out without turning the loop: it runs
        once per chunk read from the pipe, not once per line.
        """
        if self._closed:
            return
        runner = self._started()
        stream = self._stream
        whole, (encoding, errors) = stream.held_lines(), stream.codec
        while not self._closed:
            while whole:  # the lines of the chunks read so far, undecoded
                yield whole.popleft().decode(encoding, errors) + "\n"
            line = stream.cut_line()
            if line is None and (line := runner.run(stream.next_line())) is None:
                return
            yield line

    def _started(self) -> asyncio.Runner:
        if self._runner is None:
            msg = "use the stream inside its block: with pipeline.stream_sync() as out"
            raise RuntimeError(msg)
        return self._runner


def _stream_fd(run: Run) -> int:
    """Return the read end of ``run``'s streamed stdout."""
    end = run.stream_end
    if end is None:  # only a run made with stream=True and started has one
        msg = "the run has no stream"
        raise AssertionError(msg)
    return end.number
