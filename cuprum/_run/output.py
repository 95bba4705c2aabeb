"""Streaming a pipeline's output: the last stage's stdout, read as it comes.

Owns `PipelineStream` (``async with pipeline.stream(...) as out``),
`SyncPipelineStream` (``with pipeline.stream_sync(...) as out``, which
polls the run's descriptors on the caller's thread, with no event loop and
no thread) and what they hold of the output (`cuprum._run.lines.HeldLines`:
whole lines and a rest, as bytes; lines are decoded as they are handed
out). Both drive a `cuprum._run.run.Run`
made with ``stream=True``: its last stage writes to a pipe whose read end
the caller's iteration reads directly, one chunk at a time.

How a stream goes (behaviour 9.9):

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
* an observed stream (`cuprum._run.observer.Observer`) tells the lines of what
  the caller reads as it reads them, and a hook's failure is raised at the
  block's exit (or from the iteration a timeout ends), after the clean-up.

Lines are the stream's, not an iterator's (behaviour section 11 rule 6):
the stream holds the bytes it read and has not handed out, ``lines()``
cuts lines from them and chunks hand them out first, so iterations can be
left, started again and mixed without losing or repeating a byte.

Invariants: cuprum holds at most one chunk of the output plus one
unfinished line of at most `LINE_LIMIT` bytes; the block's exit returns or
raises only after every stage is reaped and every descriptor the run made is closed; an
exception that leaves the block is never replaced by the run's own.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import typing as typ

from cuprum._pumps.reactor import for_this_thread, refuse_running_loop
from cuprum._run.drive import close_async, close_sync, wait_async
from cuprum._run.lines import LINE_LIMIT, HeldLines, TextLines, newline_is_one_byte
from cuprum._run.run import Run
from cuprum._run.wiring import prepare
from cuprum.results import PipelineError

if typ.TYPE_CHECKING:
    import asyncio
    import collections
    import collections.abc as cabc
    import types

    from cuprum._pumps.reactor import Reactor, SelectReactor
    from cuprum._run.observer import Observer
    from cuprum._run.request import RunRequest, StageSpec
    from cuprum.results import PipelineResult

CHUNK: typ.Final = 1 << 16
"""The most one step of the iteration reads (and so holds) at a time."""


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
        after: cabc.Callable[[PipelineResult[typ.Any]], None] | None = None,
    ) -> None:
        self._stages = stages
        self._request = request
        self._observer = observer
        self._after = after
        """Given the result when the block ends without raising (after hooks)."""
        self._entered = False
        self._run: Run | None = None
        """The run while it goes; dropped at its end (it holds the loop)."""
        self._result: PipelineResult[typ.Any] | None = None
        self._eof = False
        self._done = False
        output = request.output
        self._codec = (output.encoding, output.errors)
        bytewise = newline_is_one_byte(output.encoding)
        self._held = HeldLines(split=bytewise)
        """Output read from the pipe but not yet handed out (lines cut from it)."""
        self._text = None if bytewise else TextLines(*self._codec)
        """Where lines are cut when a newline is not one byte in the encoding."""

    @property
    def result(self) -> PipelineResult[typ.Any]:
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
        import asyncio  # noqa: PLC0415 - on first use: import cost

        run = self._begin(asyncio.get_running_loop())
        try:
            run.start()
            os.set_blocking(_stream_fd(run), False)
        except BaseException:
            self._done = True
            await self._close_async(run, abnormal=True)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        """End the run (early: terminate it), reap, then raise what it calls for."""
        run = self._leaving()
        if run is None:  # a timeout ended the run, and was raised
            return
        normal = False
        try:
            if self._eof and not run.expired:
                await wait_async(run, lambda: run.settled or run.expired)
                normal = not run.expired
            else:
                run.leave_stream()
        finally:
            await self._close_async(run, abnormal=not normal)
        if exc_type is None:
            self._conclude(run)

    # -- what both sides share -------------------------------------------------

    def _begin(self, reactor: Reactor) -> Run:
        """Check everything and make the run (the caller starts it)."""
        if self._entered:
            msg = "a stream runs once: call stream() again for another run"
            raise RuntimeError(msg)
        self._entered = True
        try:
            stages = prepare(self._stages, self._request, self._observer)
        except BaseException:
            self._done = True  # nothing was started: nothing to end
            raise
        self._run = Run(
            stages, self._request, reactor, stream=True, observer=self._observer
        )
        return self._run

    def _leaving(self) -> Run | None:
        """Begin leaving the block: the run to end, or ``None`` if it has."""
        self._check_entered()
        if self._done:
            return None
        run = typ.cast("Run", self._run)
        self._done = True
        run.check_deadline()
        return run

    async def _close_async(self, run: Run, *, abnormal: bool) -> None:
        try:
            await close_async(run, abnormal=abnormal)
        finally:
            self._run = None
            self._result = run.result()
            if self._observer is not None:
                await self._observer.finish()

    def _close_sync(self, run: Run, reactor: SelectReactor, *, abnormal: bool) -> None:
        try:
            close_sync(run, reactor, abnormal=abnormal)
        finally:
            self._run = None
            self._result = run.result()
            if self._observer is not None:
                self._observer.finish_sync()

    def _conclude(self, run: Run) -> None:
        """Raise what the ended run calls for; give a good end to the after hooks."""
        run.raise_errors()
        result = typ.cast("PipelineResult[typ.Any]", self._result)
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
        stopped (behaviour section 11 rule 6).
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
        self._check_chunks()
        return self.take_held() or await self._read_pipe()

    def _check_chunks(self) -> None:
        """Refuse chunks while ``lines()`` of a UTF-16/32 output hold text."""
        self._check_entered()
        if self._text is not None and self._text.holds_text():
            msg = (
                f"lines() of this {self._codec[0]} output hold decoded text: "
                "read them to the end before reading chunks"
            )
            raise RuntimeError(msg)

    def take_held(self) -> bytes:
        """Hand out what was read for ``lines()`` and not yet handed out."""
        return self._held.take() if self._held else b""

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
            self._text.add(held.take(), final=self._eof)
            ready = self._text.ready
            return ready.popleft() if ready else None
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
        while (data := self._read_now()) is None:
            run = typ.cast("Run", self._run)
            if run.expired:
                await self._time_out_async(run)
            await _readable_async(run, _stream_fd(run))
        return data

    def read_pipe_sync(self, reactor: SelectReactor) -> bytes:
        """`_read_pipe` for `SyncPipelineStream`, polling on ``reactor``."""
        while (data := self._read_now()) is None:
            run = typ.cast("Run", self._run)
            if run.expired:
                self._close_sync(run, reactor, abnormal=True)
                self._timed_out(run)
            _readable_sync(run, reactor, _stream_fd(run))
        return data

    def next_line_sync(self, reactor: SelectReactor) -> str | None:
        """`next_line` for `SyncPipelineStream`, polling on ``reactor``."""
        self._check_entered()
        while (line := self.cut_line()) is None:
            if self._done or self._eof:
                return None
            self._held.add(self.read_pipe_sync(reactor))
        return line

    def _read_now(self) -> bytes | None:
        """Read what the pipe has now (``b""`` at its end; ``None``: wait).

        ``None`` as well once the deadline passed (the caller times out).
        """
        if self._done or self._eof:
            return b""
        run = typ.cast("Run", self._run)
        if run.expired:
            return None
        try:
            data = os.read(_stream_fd(run), CHUNK)
        except BlockingIOError:
            return None
        lines = run.stream_lines
        if not data:
            if lines is not None:
                lines.finish()
            self._eof = True
            return b""
        if lines is not None:
            lines.feed(data)
        return data

    # -- internals -------------------------------------------------------------

    def _check_entered(self) -> None:
        if not self._entered:
            msg = "use the stream inside its block: async with pipeline.stream() as out"
            raise RuntimeError(msg)

    async def _time_out_async(self, run: Run) -> typ.NoReturn:
        self._done = True
        run.leave_stream()
        await self._close_async(run, abnormal=True)
        self._timed_out(run)

    def _timed_out(self, run: Run) -> typ.NoReturn:
        """Raise the timeout (a hook's error first), after the clean-up."""
        self._done = True
        run.raise_errors()
        msg = "an expired run raises TimeoutExpired"  # unreachable
        raise AssertionError(msg)


async def _readable_async(run: Run, fd: int) -> None:
    """Wait on the running loop until ``fd`` is readable or the run moved on."""
    import asyncio  # noqa: PLC0415 - on first use: import cost

    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    run.changed = wake  # the deadline, for one
    try:
        await ready
    finally:
        loop.remove_reader(fd)
        run.changed = _nothing


def _readable_sync(run: Run, reactor: SelectReactor, fd: int) -> None:
    """Poll on ``reactor`` until ``fd`` is readable or the run expired."""
    ready: list[int] = []
    reactor.add_reader(fd, ready.append, fd)
    try:
        reactor.run_until(lambda: bool(ready) or run.expired)
    finally:
        reactor.remove_reader(fd)


def _nothing() -> None:
    """Wake no one."""


class SyncPipelineStream:
    """`PipelineStream` for ordinary code: ``with pipeline.stream_sync() as out``.

    Polls the run's descriptors on this thread (`cuprum._pumps.reactor`), with no
    event loop, only while a step is taken: entering the block, each chunk
    or line read from the pipe, leaving it. Between steps nothing runs for
    it; the stages simply wait on their pipes. Iterate with ``for chunk in
    out`` or ``for line in out.lines()``; `result` after the block.
    """

    def __init__(self, stream: PipelineStream, caller: str) -> None:
        self._stream = stream
        self._caller = caller
        self._lent: contextlib.ExitStack | None = None
        self._reactor: SelectReactor | None = None
        self._closed = False

    @property
    def result(self) -> PipelineResult[typ.Any]:
        """How the run ended; see `PipelineStream.result`."""
        return self._stream.result

    def __enter__(self) -> typ.Self:
        """Start the run, polled on this thread.

        Raises
        ------
        RuntimeError
            Inside a running event loop (use ``async with stream()`` there).

        """
        refuse_running_loop(f"{self._caller}()", "use async with stream()")
        lent = self._lent = contextlib.ExitStack()
        reactor = self._reactor = lent.enter_context(for_this_thread())
        stream = self._stream
        try:
            run = stream._begin(reactor)  # noqa: SLF001 - the stream's own driver
            try:
                run.start()
                os.set_blocking(_stream_fd(run), False)
            except BaseException:
                stream._done = True  # noqa: SLF001
                stream._close_sync(run, reactor, abnormal=True)  # noqa: SLF001
                raise
        except BaseException:
            self._let_go()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        """End the run as `PipelineStream` does."""
        reactor = self._started()
        stream = self._stream
        try:
            run = stream._leaving()  # noqa: SLF001 - the stream's own driver
            if run is None:
                return
            normal = False
            try:
                if stream._eof and not run.expired:  # noqa: SLF001
                    reactor.run_until(lambda: run.settled or run.expired)
                    normal = not run.expired
                else:
                    run.leave_stream()
            finally:
                stream._close_sync(run, reactor, abnormal=not normal)  # noqa: SLF001
            if exc_type is None:
                stream._conclude(run)  # noqa: SLF001
        finally:
            self._let_go()

    def _let_go(self) -> None:
        lent, self._lent, self._reactor = self._lent, None, None
        self._closed = True
        if lent is not None:
            lent.close()

    def __iter__(self) -> SyncPipelineStream:
        """Iterate over the output's chunks."""
        return self

    def __next__(self) -> bytes:
        """Return the next chunk of the output."""
        if self._closed:
            raise StopIteration
        reactor = self._started()
        stream = self._stream
        stream._check_chunks()  # noqa: SLF001 - the stream's own driver
        chunk = stream.take_held() or stream.read_pipe_sync(reactor)
        if not chunk:
            raise StopIteration
        return chunk

    def lines(self) -> cabc.Iterator[str]:
        """Iterate over the output's decoded lines; see `PipelineStream.lines`.

        Lines already read are handed out without polling: the run's
        descriptors are polled once per chunk read from the pipe, not once
        per line.
        """
        if self._closed:
            return
        reactor = self._started()
        stream = self._stream
        whole, (encoding, errors) = stream.held_lines(), stream.codec
        while not self._closed:
            while whole:  # the lines of the chunks read so far, undecoded
                yield whole.popleft().decode(encoding, errors) + "\n"
            line = stream.cut_line()
            if line is None and (line := stream.next_line_sync(reactor)) is None:
                return
            yield line

    def _started(self) -> SelectReactor:
        if self._reactor is None:
            msg = "use the stream inside its block: with pipeline.stream_sync() as out"
            raise RuntimeError(msg)
        return self._reactor


def _stream_fd(run: Run) -> int:
    """Return the read end of ``run``'s streamed stdout."""
    end = run.stream_end
    if end is None:  # only a run made with stream=True and started has one
        msg = "the run has no stream"
        raise AssertionError(msg)
    return end.number
