"""`CoalescingTransport`: small writes made in one turn of the event loop leave in one writev; big ones at once;
nothing is held past the turn, a close or a write_eof."""

from __future__ import annotations

import asyncio

from ngc_registry.server.serving import HELD_BYTES, CoalescingTransport


class Recording:
    """The transport underneath: what it was asked to send, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[bytes]]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.sent.append(("write", [data]))

    def writelines(self, data: list[bytes]) -> None:
        self.sent.append(("writelines", list(data)))

    def write_eof(self) -> None:
        self.sent.append(("eof", []))

    def close(self) -> None:
        self.sent.append(("close", []))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str):
        return f"info:{name}"


def run_one_turn(body) -> Recording:
    """`body(transport)` runs in a callback; the loop then runs until the callbacks it scheduled have run."""
    async def main() -> Recording:
        under = Recording()
        body(CoalescingTransport(under, asyncio.get_running_loop()))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return under

    return asyncio.run(main())


def test_a_head_and_a_small_body_leave_together_at_the_end_of_the_turn():
    def respond(transport):
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"{}")
        assert transport._transport.sent == []  # held until the turn ends

    assert run_one_turn(respond).sent == [("writelines", [b"HTTP/1.1 200 OK\r\n\r\n", b"{}"])]


def test_a_lone_write_is_sent_within_the_turn():
    assert run_one_turn(lambda t: t.write(b"HTTP/1.1 100 Continue\r\n\r\n")).sent == [
        ("writelines", [b"HTTP/1.1 100 Continue\r\n\r\n"])]


def test_a_big_write_goes_out_at_once_with_what_was_held_before_it():
    big = b"x" * HELD_BYTES

    def respond(transport):
        transport.write(big)
        transport.write(b"head")
        transport.write(big)
        assert transport._transport.sent == [("write", [big]), ("writelines", [b"head", big])]

    assert len(run_one_turn(respond).sent) == 2


def test_small_writes_adding_up_to_the_limit_are_not_held_from_flow_control():
    piece = b"y" * (HELD_BYTES // 4)

    def stream(transport):
        for _ in range(4):
            transport.write(piece)
        assert transport._transport.sent == [("writelines", [piece] * 4)]

    assert len(run_one_turn(stream).sent) == 1


def test_close_and_write_eof_send_what_is_held_first_and_nothing_goes_to_a_closed_transport():
    def close(transport):
        transport.write(b"last")
        transport.close()
        transport.write(b"too late")

    assert run_one_turn(close).sent == [("writelines", [b"last"]), ("close", [])]

    def end(transport):
        transport.write(b"last")
        transport.write_eof()

    assert run_one_turn(end).sent == [("writelines", [b"last"]), ("eof", [])]


def test_everything_else_is_the_transport_underneath():
    transport = CoalescingTransport(Recording(), None)
    assert transport.get_extra_info("peername") == "info:peername"
    assert transport.is_closing() is False


def test_a_held_buffer_is_copied_so_its_owner_may_reuse_it():
    def respond(transport):
        buffer = bytearray(b"first")
        transport.write(buffer)
        buffer[:] = b"again"

    assert run_one_turn(respond).sent == [("writelines", [b"first"])]
