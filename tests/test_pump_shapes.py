"""Sources with a shape of their own (behaviour section 3 rule 9), on both backends.

A pipe whose writer is in packet mode (``O_DIRECT``) returns one packet per
read and drops what the read had no room for; a socket that keeps message
boundaries cannot be pumped as a byte stream at all.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import typing as typ

import pytest

import cuprum

if typ.TYPE_CHECKING:
    from cuprum import StreamBackend

PACKET = 3000
"""Bytes per packet: one write to a packet-mode pipe."""
COUNT = 200
"""Packets sent: more than one 64 KiB ring holds, fewer than the pipe holds."""


def packet_pipe_full_of_packets() -> tuple[int, bytes]:
    """Return a packet-mode pipe's read end holding COUNT packets, then EOF."""
    reader, writer = os.pipe2(os.O_DIRECT | os.O_CLOEXEC)
    fcntl.fcntl(writer, fcntl.F_SETPIPE_SZ, 1 << 20)  # room for every packet
    sent = b"".join(bytes([index % 251]) * PACKET for index in range(COUNT))
    for start in range(0, len(sent), PACKET):
        os.write(writer, sent[start : start + PACKET])
    os.close(writer)
    return reader, sent


@pytest.mark.parametrize("buffer_size", [1000, 4096, 65536])
def test_every_packet_arrives_whole_whatever_the_buffer(
    stream_backend: StreamBackend, buffer_size: int
) -> None:
    reader, sent = packet_pipe_full_of_packets()
    sink, far = socket.socketpair()
    received = bytearray()

    def consume() -> None:
        while chunk := far.recv(1 << 16):
            received.extend(chunk)

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        moved = cuprum.pump_stream(reader, sink.fileno(), buffer_size=buffer_size)
    finally:
        sink.shutdown(socket.SHUT_WR)
        consumer.join()
        os.close(reader)
        sink.close()
        far.close()
    assert moved == len(sent)
    assert bytes(received) == sent


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_SEQPACKET])
def test_a_message_socket_is_refused_as_a_reader(
    stream_backend: StreamBackend, kind: socket.SocketKind
) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, kind)
    out_r, out_w = os.pipe()
    try:
        with pytest.raises(ValueError, match="socket: its messages would be cut"):
            cuprum.pump_stream(ours.fileno(), out_w)  # the fast path
        with pytest.raises(ValueError, match=r"pairs\[1\] reader_fd .* socket"):
            cuprum.pump_many([(out_r, out_w), (ours.fileno(), out_w)])
        # Nothing was read: the message is still there.
        theirs.send(b"kept")
        assert ours.recv(16) == b"kept"
        assert ours.fileno() >= 0  # still open
    finally:
        for fd in (out_r, out_w):
            os.close(fd)
        ours.close()
        theirs.close()
