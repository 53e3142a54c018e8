#!/usr/bin/env python3
"""Latency for the multi-host bed (dev/hosts/faults.ts) on a kernel without netem.

Listens on an NFQUEUE (iptables -j NFQUEUE --queue-num N) inside one host's network namespace and
accepts each queued packet DELAY_MS after it was queued, or drops it with LOSS_PERCENT chance: the
packets leaving the host fare as under `tc qdisc add dev eth0 root netem delay 200ms loss 5%`. Spoken in raw netlink (the standard
library has AF_NETLINK; no libnetfilter_queue needed). Runs until SIGTERM; packets still held then
are accepted at once.

usage: delay-queue.py <queue-num> <delay-ms> <loss-percent>
"""

import heapq
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_DROP = 0
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def message(msg_type, queue, attrs, flags=NLM_F_REQUEST):
    # nfgenmsg: family, version, resource id (the queue number, big-endian).
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, 0, 0) + body


def configure(sock, queue):
    for attrs in (
        [attr(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, socket.AF_INET))],
        [attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META)), attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 65536))],
    ):
        sock.send(message(NFQNL_MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK))
        reply = sock.recv(65536)
        _, kind, _, _, _ = struct.unpack_from("=IHHII", reply)
        if kind == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", reply, 16)
            if error != 0:
                raise OSError(-error, "NFQUEUE configuration refused")


def packet_ids(data):
    """The ids of the queued packets in one netlink datagram."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind, _, _, _ = struct.unpack_from("=IHHII", data, offset)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            position = offset + 20  # netlink header, then nfgenmsg
            while position + 4 <= offset + length:
                attr_length, attr_kind = struct.unpack_from("=HH", data, position)
                if attr_length < 4:
                    break
                if attr_kind & 0x7FFF == NFQA_PACKET_HDR:
                    (packet_id,) = struct.unpack_from("!I", data, position + 4)
                    yield packet_id
                position += (attr_length + 3) & ~3
        offset += (length + 3) & ~3


def main():
    queue, delay_ms, loss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]) / 100
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.bind((0, 0))
    configure(sock, queue)
    held = []
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    signal.signal(signal.SIGINT, lambda *_: running.__setitem__(0, False))
    print("ready", flush=True)

    def accept(packet_id, verdict=NF_ACCEPT):
        sock.send(message(NFQNL_MSG_VERDICT, queue, [attr(NFQA_VERDICT_HDR, struct.pack("!II", verdict, packet_id))]))

    while running[0]:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else 0.5
        try:
            readable, _, _ = select.select([sock], [], [], timeout)
        except InterruptedError:
            continue
        if readable:
            try:
                data = sock.recv(262144)
            except OSError:
                # ENOBUFS: the kernel dropped some notifications; those packets are lost, as on a full link.
                continue
            release = time.monotonic() + delay_ms / 1000
            for packet_id in packet_ids(data):
                if random.random() < loss:
                    # Dropped after the sender was told it left: silent, as on the wire.
                    accept(packet_id, NF_DROP)
                else:
                    heapq.heappush(held, (release, packet_id))
        now = time.monotonic()
        while held and held[0][0] <= now:
            accept(heapq.heappop(held)[1])
    while held:
        accept(heapq.heappop(held)[1])


if __name__ == "__main__":
    main()
