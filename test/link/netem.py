#!/usr/bin/env python3
"""netem in user space, for kernels built without sch_netem.

The kernel queues packets here through NFQUEUE (iptables -j NFQUEUE --queue-num N);
for each one this program gives a verdict: NF_DROP for a seeded share of them (loss),
NF_ACCEPT at once for another share (those overtake the rest: reordering), and NF_ACCEPT
after DELAY ms for everything else. Verdicts may be given in any order (the kernel
looks packets up by id), which is what reorders them. GSO packets are queued whole
(NFQA_CFG_F_GSO), as netem sees them.

usage: netem.py QUEUE SEED LOSS REORDER DELAY_MS
  LOSS and REORDER are fractions (0.02 = 2%). Prints READY once bound, and on SIGTERM
  one JSON line: {"seen", "dropped", "early", "delayed"}.

Only the Python standard library: the netlink messages are packed here
(include/uapi/linux/netfilter/nfnetlink_queue.h).
"""
import heapq
import json
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK, NFQA_CFG_FLAGS = 1, 2, 3, 4, 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_GSO = 4
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NF_DROP, NF_ACCEPT = 0, 1


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + b'\0' * (-length % 4)


def message(msg_type, queue, attrs, flags=NLM_F_REQUEST, family=socket.AF_UNSPEC):
    body = struct.pack('=BB', family, 0) + struct.pack('>H', queue) + b''.join(attrs)
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, 0, 0) + body


def config(sock, queue, attrs):
    """Sends one config message and waits for its acknowledgement (errors raise)."""
    sock.send(message(NFQNL_MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK))
    data = sock.recv(65536)
    _, kind, _, _, _ = struct.unpack_from('=IHHII', data)
    if kind == NLMSG_ERROR:
        (err,) = struct.unpack_from('=i', data, 16)
        if err != 0:
            raise OSError(-err, f'NFQUEUE config failed on queue {queue}')


def packet_ids(data):
    """The packet ids in a buffer of netlink messages from the queue."""
    at = 0
    while at + 16 <= len(data):
        length, kind, _, _, _ = struct.unpack_from('=IHHII', data, at)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            a = at + 16 + 4
            while a + 4 <= at + length:
                alen, akind = struct.unpack_from('=HH', data, a)
                if alen < 4:
                    break
                if akind & 0x7FFF == NFQA_PACKET_HDR:
                    yield struct.unpack_from('>I', data, a + 4)[0]
                a += (alen + 3) & ~3
        at += (length + 3) & ~3


def main():
    queue, seed = int(sys.argv[1]), int(sys.argv[2])
    loss, reorder, delay = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]) / 1000
    rng = random.Random(seed)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    # Bursts of ACKs must not overflow the socket (ENOBUFS loses packets silently).
    sock.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
    sock.bind((0, 0))
    config(sock, queue, [attr(NFQA_CFG_CMD, struct.pack('=BB', NFQNL_CFG_CMD_BIND, 0) + struct.pack('>H', socket.AF_INET))])
    config(sock, queue, [attr(NFQA_CFG_PARAMS, struct.pack('>IB', 0, NFQNL_COPY_META)),
                         attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack('>I', 65536)),
                         attr(NFQA_CFG_MASK, struct.pack('>I', NFQA_CFG_F_GSO)),
                         attr(NFQA_CFG_FLAGS, struct.pack('>I', NFQA_CFG_F_GSO))])
    stats = {'seen': 0, 'dropped': 0, 'early': 0, 'delayed': 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    held = []  # (due, id): a heap

    def verdict(packet_id, what):
        sock.send(message(NFQNL_MSG_VERDICT, queue, [attr(NFQA_VERDICT_HDR, struct.pack('>II', what, packet_id))]))

    print('READY', flush=True)
    while not stop:
        now = time.monotonic()
        while held and held[0][0] <= now:
            verdict(heapq.heappop(held)[1], NF_ACCEPT)
        timeout = max(0.0, held[0][0] - now) if held else 0.2
        try:
            readable, _, _ = select.select([sock], [], [], timeout)
        except InterruptedError:
            continue
        if not readable:
            continue
        data = sock.recv(1 << 20)
        for packet_id in packet_ids(data):
            stats['seen'] += 1
            r = rng.random()
            if r < loss:
                stats['dropped'] += 1
                verdict(packet_id, NF_DROP)
            elif r < loss + reorder:
                stats['early'] += 1
                verdict(packet_id, NF_ACCEPT)
            else:
                stats['delayed'] += 1
                heapq.heappush(held, (time.monotonic() + delay, packet_id))
    for _, packet_id in held:
        verdict(packet_id, NF_ACCEPT)
    print(json.dumps(stats), flush=True)


if __name__ == '__main__':
    main()
