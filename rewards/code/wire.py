"""The wire format between the harness, the zygote, the judge and the program: standard library only.

Messages are length-prefixed JSON. Values cross as a type-exact canonical encoding: plain builtins
(None, bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset), the builtin types
themselves (``int`` as an argument), and ``Counter`` / ``OrderedDict`` / ``defaultdict``, which compare
differently from a dict. Anything else crosses as an opaque handle. Decoding only ever builds genuine
builtins (and those three collections types): it never unpickles and never calls code of the sender, so
whatever the sender's objects claim about themselves (``__eq__``, ``__hash__``) stays on its side.
"""

from __future__ import annotations

import collections
import json
import select
import struct
import time

MAX_MESSAGE = 64 * 1024 * 1024
MAX_DEPTH = 100
# Builtin types that may cross by name (``isinstance(x, int)``-style arguments, ``type(x)`` results).
TYPES = {t.__name__: t for t in (bool, int, float, complex, str, bytes, bytearray, list, tuple, dict, set,
                                  frozenset, object, type, range, slice, type(None))}
_COLLECTIONS = {collections.Counter: "Counter", collections.OrderedDict: "OrderedDict",
                collections.defaultdict: "defaultdict"}
_REBUILD = {"Counter": collections.Counter, "OrderedDict": collections.OrderedDict,
            "defaultdict": lambda items: collections.defaultdict(None, items)}


def _storage(value):
    """A builtin subclass instance's own storage, read through the base type's C methods (the subclass's
    overrides are not called), with the base type; or (None, None)."""
    for base, read in ((bool, None), (int, int.__int__), (float, float.__float__), (complex, complex.__complex__),
                       (str, str.__str__), (bytes, lambda v: bytes.__getitem__(v, slice(None))),
                       (list, lambda v: list.__getitem__(v, slice(None))),
                       (tuple, lambda v: tuple.__getitem__(v, slice(None))),
                       (dict, lambda v: dict(dict.items(v))), (set, set.copy), (frozenset, frozenset.copy)):
        if isinstance(value, base) and read is not None:
            return read(value), base
    return None, None


def encode(value, foreign=None, depth: int = 0):
    """``value`` as nested lists of tagged plain data; ``foreign(value)`` encodes anything else (a handle),
    or, without it, anything else is a TypeError."""
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    t = type(value)
    if value is None:
        return ["n"]
    if t is bool:
        return ["b", value]
    if t is int:
        return ["i", hex(value)]
    if t is float:
        return ["f", value.hex()]
    if t is complex:
        return ["c", value.real.hex(), value.imag.hex()]
    if t is str:
        return ["s", value]
    if t is bytes:
        return ["y", value.hex()]
    if t is list or t is tuple or t is set or t is frozenset:
        tag = {list: "l", tuple: "t", set: "e", frozenset: "z"}[t]
        return [tag, [encode(v, foreign, depth + 1) for v in value]]
    if t is dict or t in _COLLECTIONS:
        items = [[encode(k, foreign, depth + 1), encode(v, foreign, depth + 1)] for k, v in dict.items(value)]
        return ["d", items] if t is dict else ["d", items, _COLLECTIONS[t]]
    if t is type and TYPES.get(value.__name__) is value:
        return ["T", value.__name__]
    storage, base = _storage(value)  # a subclass of a builtin compares like one: its own data crosses
    if base is not None:
        return encode(storage, foreign, depth + 1)
    if foreign is not None:
        return foreign(value)
    raise TypeError(f"cannot send a {t.__name__} across the sandbox boundary")


def decode(data, make_handle=None, depth: int = 0):
    """Rebuild genuine builtins from ``encode``'s output; anything malformed is a ValueError."""
    if depth > MAX_DEPTH or type(data) is not list or not data:
        raise ValueError("malformed value")
    tag = data[0]
    try:
        if tag == "n":
            return None
        if tag == "b":
            return data[1] is True
        if tag in ("i", "f", "s", "y", "T", "h"):
            if type(data[1]) is not (int if tag == "h" else str):
                raise ValueError
            text = data[1]
            if tag == "i":
                return int(text, 16)
            if tag == "f":
                return float.fromhex(text)
            if tag == "s":
                return text
            if tag == "y":
                return bytes.fromhex(text)
            if tag == "T":
                return TYPES[text]
            if make_handle is not None:
                return make_handle(text)
        if tag == "c":
            return complex(float.fromhex(data[1]), float.fromhex(data[2]))
        if tag in ("l", "t", "e", "z") and type(data[1]) is list:
            items = [decode(v, make_handle, depth + 1) for v in data[1]]
            return {"l": list, "t": tuple, "e": set, "z": frozenset}[tag](items)
        if tag == "d" and type(data[1]) is list:
            pairs = []
            for pair in data[1]:
                if type(pair) is not list or len(pair) != 2:
                    raise ValueError
                pairs.append((decode(pair[0], make_handle, depth + 1), decode(pair[1], make_handle, depth + 1)))
            kind = data[2] if len(data) > 2 else None
            return dict(pairs) if kind is None else _REBUILD[kind](dict(pairs))
    except (IndexError, KeyError, TypeError, OverflowError):
        pass
    except ValueError:
        raise ValueError("malformed value") from None
    raise ValueError(f"malformed value tag {str(tag)[:20]!r}")


def send_message(sock, obj) -> None:
    payload = json.dumps(obj).encode()
    sock.sendall(struct.pack("!I", len(payload)) + payload)


def recv_exact(sock, n: int, deadline_s: float | None = None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline_s is not None:
            # Past the deadline, still take what has arrived: a reader descheduled between a message's
            # header and its body would otherwise leave the body to be misread as the next header.
            left = max(0.0, deadline_s - time.monotonic())
            if not select.select([sock], [], [], left)[0]:
                raise TimeoutError
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_message(sock, deadline_s: float | None = None, max_size: int = MAX_MESSAGE) -> dict:
    """The next message, which must be a JSON object of at most ``max_size`` bytes (else ValueError)."""
    (size,) = struct.unpack("!I", recv_exact(sock, 4, deadline_s))
    if size > max_size:
        raise ValueError("message too large")
    try:
        message = json.loads(recv_exact(sock, size, deadline_s))
    except RecursionError:  # json nests by recursion: a deep reply is malformed, not a crash
        raise ValueError("message nested too deeply") from None
    if type(message) is not dict:
        raise ValueError("malformed message")
    return message
