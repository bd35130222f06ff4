"""The length-prefixed messages between the harness, its zygote and the judged program."""

import socket
import time

from rewards.code import zygote


def test_a_message_already_received_is_read_past_the_deadline():
    # A reader late for its deadline between a header and its body must not leave the stream misaligned
    # (seen under load: the next read took JSON text for a length, "message too large").
    ours, theirs = socket.socketpair()
    with ours, theirs:
        zygote.send_message(theirs, {"exit": 7})
        zygote.send_message(theirs, {"pid": 8})
        assert zygote.recv_message(ours, time.monotonic() - 1) == {"exit": 7}
        assert zygote.recv_message(ours, time.monotonic() + 1) == {"pid": 8}
