#!/usr/bin/env python3
"""A remote attacker on Shoal's receive memory, with raw sockets, for tap-rx-attack.test.ts.

It opens TCP connections to Shoal itself (SYN, SYN-ACK, ACK built and read here, so it
holds no kernel socket and may send what no kernel would), then floods them with
one-byte segments, each of which costs Shoal a whole receive frame if it keeps it:

  ooo      out of order: seq = ISN+2, ISN+4, ISN+6 ... (the byte at ISN+1 never comes,
           so nothing is ever deliverable), within the window Shoal advertised; the pass
           over all connections is repeated until MIN_SECONDS have gone by.
  inorder  in order, one byte a segment, within the window Shoal advertised (its
           SYN-ACK, then each ACK with its window scale) and at most 3,000 bytes past its
           ACK; what Shoal did not acknowledge is sent again (go-back-N after 250 ms
           without progress), until all is acknowledged, Shoal is silent for 3 s, or
           MAX_SECONDS are over.

The kernel of the namespace would answer Shoal's segments for these connections with
RSTs: the test drops those (iptables), all but this program's, which carry SO_MARK 0x5107.

usage: rx-attack.py MODE SRC DST DPORT SPORT CONNS SEGMENTS RATE MIN_SECONDS MAX_SECONDS
  Connections use source ports SPORT .. SPORT+CONNS-1. The flood goes at RATE segments a
  second at most (0: as fast as it can): faster than Shoal reads, the TAP's queue in the
  kernel overflows and drops the kernel's pings with the rest, which says nothing of
  Shoal's memory. Prints on stdout (one line each):
  `READY {...}` once the handshakes are done and the flood starts, `FLOODED {...}` when
  it is over; then waits for a line on stdin (or its end), sends each connection an RST
  with the exact sequence number Shoal expects (RCV.NXT: what it acknowledged), and
  prints `DONE {...}`: connections established, segments sent (new and again), ACKs
  seen, the last window Shoal advertised (bytes, scaled), bytes it acknowledged, RSTs.

Only the Python standard library. Every run is bounded in time (never past 60 s).
"""
import json
import random
import select
import socket
import struct
import sys
import time

MARK = 0x5107
SO_MARK = getattr(socket, 'SO_MARK', 36)
SO_RCVBUFFORCE = getattr(socket, 'SO_RCVBUFFORCE', 33)
SYN, RST, PSH, ACK = 0x02, 0x04, 0x08, 0x10
HARD_LIMIT = 60.0
INFLIGHT = 3000


def checksum(data):
    if len(data) & 1:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Conn:
    def __init__(self, sport):
        self.sport = sport
        self.isn = random.getrandbits(32)
        self.irs = None  # Shoal's ISN (from its SYN-ACK)
        self.wscale = 0  # Shoal's window scale (0 until both sides offered it)
        self.una = (self.isn + 1) & 0xFFFFFFFF  # highest ACK from Shoal: its RCV.NXT
        self.nxt = self.una  # next new byte (inorder)
        self.right = self.una  # right edge of Shoal's window: ack + window
        self.window = 0  # the last window Shoal advertised, in bytes
        self.acks = 0
        self.high = 0  # bytes sent at least once (inorder)
        self.last_ack = 0.0  # when Shoal's ACK last moved (inorder)
        self.rto_at = 0.0  # when we last went back to its ACK (inorder)
        self.reset_by_peer = False
        self.reset_at = None  # the sequence number of our last RST

    def off(self, seq):
        """seq relative to the first data byte (ISN+1), in [0, 2^32)."""
        return (seq - self.isn - 1) & 0xFFFFFFFF


class Attacker:
    def __init__(self, src, dst, dport):
        self.src, self.dst, self.dport = src, dst, dport
        self.dst_raw = socket.inet_aton(dst)
        self.pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BB', 0, socket.IPPROTO_TCP)
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.tx.setsockopt(socket.SOL_SOCKET, SO_MARK, MARK)
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.rx.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
        self.rx.setblocking(False)
        self.conns = {}
        self.rate = 0  # flood segments a second at most (0: no limit)
        self.paced = 0
        self.pace_start = 0.0
        self.sent = 0
        self.resent = 0
        self.send_errors = 0

    def send(self, c, seq, ack, flags, payload=b'', options=b'', window=65535):
        hdr = struct.pack('!HHIIBBHHH', c.sport, self.dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (20 + len(options)) << 2, flags, window, 0, 0) + options
        seg = hdr + payload
        csum = checksum(self.pseudo + struct.pack('!H', len(seg)) + seg)
        seg = seg[:16] + struct.pack('!H', csum) + seg[18:]
        try:
            self.tx.sendto(seg, (self.dst, 0))
            return True
        except OSError:
            # ENOBUFS and the like: the frame is lost, as on a wire.
            self.send_errors += 1
            return False

    def flood(self, c, seq, payload):
        """Sends one flood segment, at most `rate` a second on average (bursts of 32); reads ACKs meanwhile."""
        ok = self.send(c, seq, c.irs + 1, ACK | PSH, payload=payload)
        self.paced += 1
        if self.paced % 32 == 0:
            now = time.monotonic()
            self.drain(now)
            due = self.pace_start + self.paced / self.rate if self.rate > 0 else now
            while now < due:
                select.select([self.rx], [], [], due - now)
                now = time.monotonic()
                self.drain(now)
        return ok

    def drain(self, now):
        """Reads what Shoal sent to our connections (non-blocking); returns the segments seen."""
        seen = 0
        while True:
            try:
                pkt = self.rx.recv(65535)
            except (BlockingIOError, InterruptedError):
                return seen
            ihl = (pkt[0] & 0x0F) * 4
            if len(pkt) < ihl + 20 or pkt[12:16] != self.dst_raw:
                continue
            sport, dport, seq, ack, off, flags, win = struct.unpack_from('!HHIIBBH', pkt, ihl)
            c = self.conns.get(dport)
            if c is None or sport != self.dport:
                continue
            seen += 1
            if flags & RST:
                c.reset_by_peer = True
                continue
            if flags & SYN:
                if c.irs is None:
                    c.irs = seq
                    c.wscale = shoal_wscale(pkt[ihl + 20:ihl + (off >> 4) * 4])
                    c.window = win  # a SYN's window is never scaled
                    c.right = (c.una + win) & 0xFFFFFFFF
                continue
            if not (flags & ACK) or c.irs is None:
                continue
            c.acks += 1
            if c.off(c.una) < c.off(ack) <= c.high:
                c.una = ack
                c.last_ack = now
            c.window = win << c.wscale
            right = (ack + c.window) & 0xFFFFFFFF
            if c.off(right) > c.off(c.right) and c.off(right) < 2 ** 31:
                c.right = right


def syn_options():
    # MSS 1460; NOP NOP SACK-permitted; NOP window scale 7.
    return struct.pack('!BBH', 2, 4, 1460) + bytes([1, 1, 4, 2, 1, 3, 3, 7])


def shoal_wscale(opts):
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        if kind == 3 and opts[i + 1] == 3:
            return min(opts[i + 2], 14)
        i += opts[i + 1]
    return 0


def main():
    mode, src, dst, dport, sport, nconns, segments, rate, min_seconds, max_seconds = sys.argv[1:11]
    dport, sport, nconns, segments, rate = int(dport), int(sport), int(nconns), int(segments), int(rate)
    min_seconds, max_seconds = float(min_seconds), min(float(max_seconds), HARD_LIMIT - 10)
    if mode not in ('ooo', 'inorder'):
        sys.exit(f'rx-attack: unknown mode {mode}')
    start = time.monotonic()
    a = Attacker(src, dst, dport)
    for i in range(nconns):
        a.conns[sport + i] = Conn(sport + i)
    conns = list(a.conns.values())

    # Handshakes: SYN (sent again every second, three times), SYN-ACK, ACK.
    for attempt in range(3):
        for c in conns:
            if c.irs is None:
                a.send(c, c.isn, 0, SYN, options=syn_options())
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and any(c.irs is None for c in conns):
            select.select([a.rx], [], [], 0.05)
            a.drain(time.monotonic())
        if all(c.irs is not None for c in conns):
            break
    up = [c for c in conns if c.irs is not None and not c.reset_by_peer]
    for c in up:
        a.send(c, c.una, c.irs + 1, ACK, window=65535)
    emit('READY', {'established': len(up), 'wscale': up[0].wscale if up else None, 'window': up[0].window if up else None})

    flood_start = a.pace_start = time.monotonic()
    a.rate = rate
    flood_end = flood_start + max_seconds
    if mode == 'ooo':
        # Every other byte, round-robin over the connections, each segment within the window.
        rounds = 0
        while True:
            for k in range(1, segments + 1):
                for c in up:
                    if c.off(c.isn + 2 * k) < c.off(c.right):
                        if a.flood(c, c.isn + 2 * k, b'x'):
                            if rounds == 0:
                                a.sent += 1
                            else:
                                a.resent += 1
                if time.monotonic() > flood_end:
                    break
            rounds += 1
            now = time.monotonic()
            if now > flood_end or now - flood_start >= min_seconds:
                break
    else:
        # In order, one byte a segment, within Shoal's window and at most INFLIGHT bytes
        # past its ACK (paced by its ACKs, as a sender is); go-back-N from its ACK.
        for c in up:
            c.last_ack = c.rto_at = flood_start
        while True:
            now = time.monotonic()
            if now > flood_end:
                break
            live = [c for c in up if c.off(c.una) < segments and not c.reset_by_peer]
            if not live or all(now - c.last_ack > 3.0 for c in live):
                break  # all acknowledged, or Shoal has gone silent
            progressed = False
            for c in live:
                nxt = c.off(c.nxt)
                if nxt < segments and nxt < c.off(c.right) and nxt - c.off(c.una) < INFLIGHT:
                    # Moved before the send: flood() reads ACKs, which may cover this byte.
                    seq, new = c.nxt, nxt >= c.high
                    c.high = max(c.high, nxt + 1)
                    c.nxt = (c.nxt + 1) & 0xFFFFFFFF
                    if a.flood(c, seq, b'y'):
                        if new:
                            a.sent += 1
                        else:
                            a.resent += 1
                    progressed = True
                elif nxt > c.off(c.una) and now - max(c.last_ack, c.rto_at) > 0.25:
                    c.nxt = c.una  # go back N: send again from what Shoal acknowledged
                    c.rto_at = now
                    progressed = True
            if not progressed:
                select.select([a.rx], [], [], 0.005)
                a.drain(time.monotonic())
    # ACKs still on their way.
    settle = time.monotonic() + 0.3
    while time.monotonic() < settle:
        select.select([a.rx], [], [], 0.05)
        a.drain(time.monotonic())
    flood_seconds = time.monotonic() - flood_start
    emit('FLOODED', summary(a, up, mode, flood_seconds))

    # Hold the connections (and what Shoal keeps of them) until told, bounded in time.
    remaining = HARD_LIMIT - 5 - (time.monotonic() - start)
    if remaining > 0:
        select.select([sys.stdin], [], [], remaining)

    # RSTs with the sequence number Shoal expects (its RCV.NXT, the last ACK seen); one
    # that missed it draws a challenge ACK (RFC 5961), and the RST goes again from there.
    rsts = 0
    for attempt in range(3):
        a.drain(time.monotonic())
        for c in up:
            if not c.reset_by_peer and c.reset_at != c.una:
                a.send(c, c.una, c.irs + 1, RST | ACK, window=0)
                c.reset_at = c.una
                rsts += 1
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            select.select([a.rx], [], [], 0.05)
            a.drain(time.monotonic())
        if all(c.reset_by_peer or c.reset_at == c.una for c in up):
            break
    out = summary(a, up, mode, flood_seconds)
    out['rsts'] = rsts
    emit('DONE', out)


def summary(a, up, mode, flood_seconds):
    acked = [c.off(c.una) for c in up]
    return {
        'mode': mode,
        'established': len(up),
        'sent': a.sent,
        'resent': a.resent,
        'sendErrors': a.send_errors,
        'acks': sum(c.acks for c in up),
        'wscale': up[0].wscale if up else None,
        'lastWindow': min((c.window for c in up), default=None),
        'ackedMin': min(acked, default=0),
        'ackedTotal': sum(acked),
        'floodSeconds': round(flood_seconds, 3),
    }


def emit(tag, obj):
    sys.stdout.write(f'{tag} {json.dumps(obj)}\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
