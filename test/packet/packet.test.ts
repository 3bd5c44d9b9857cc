import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FramePool } from '../../src/packet/pool.js';
import { CallbackOwner } from '../../src/packet/owner.js';
import { Packet } from '../../src/packet/packet.js';

const bytes = (...xs: number[]) => Uint8Array.from(xs);

function twoFragments(onRelease?: () => void): Packet {
  const p = Packet.wrap(bytes(1, 2, 3, 4), 0, 4, onRelease ? new CallbackOwner(onRelease) : null);
  p.appendFragment(bytes(9, 5, 6, 7, 8), 1, 4);
  return p;
}

test('packet: headers are prepended into headroom without moving the payload', () => {
  const pool = new FramePool({ slotSize: 512, slots: 4 });
  const p = Packet.alloc(pool, 64)!;
  const payloadAt = p.append(3);
  p.bufs[0]!.set([7, 8, 9], payloadAt);
  const tcpAt = p.prepend(20);
  assert.equal(tcpAt, payloadAt - 20, 'the header goes right in front of the payload');
  const ipAt = p.prepend(20);
  const ethAt = p.prepend(14);
  assert.equal(ethAt, ipAt - 14);
  assert.equal(p.length, 57);
  assert.equal(p.fragmentCount, 1);
  assert.equal(p.headroom, 10);
  // Out of headroom: a new header fragment from the pool, payload untouched.
  p.prepend(16);
  assert.equal(p.fragmentCount, 2);
  assert.equal(p.length, 73);
  assert.deepEqual([...p.toBytes().subarray(70)], [7, 8, 9]);
  assert.equal(pool.inUse, 2);
  p.release();
  assert.equal(pool.inUse, 0, 'both frames return to the pool');
});

test('packet: prepend without a pool or headroom still works (a separate small buffer)', () => {
  const p = Packet.wrap(bytes(5, 6));
  const at = p.prepend(2);
  p.bufs[0]!.set([3, 4], at);
  assert.deepEqual([...p.toBytes()], [3, 4, 5, 6]);
});

test('packet: share() views keep memory alive; the release fires once, after the last view', () => {
  let released = 0;
  const p = twoFragments(() => released++);
  const a = p.share(2, 4);
  const b = a.share(1, 2);
  assert.deepEqual([...a.toBytes()], [3, 4, 5, 6]);
  assert.deepEqual([...b.toBytes()], [4, 5]);
  p.release();
  a.release();
  assert.equal(released, 0);
  b.release();
  assert.equal(released, 1);
  b.release();
  p.release();
  assert.equal(released, 1, 'releasing again does nothing');
  assert.throws(() => p.share(), /released/);
});

test('packet: a shared frame loses its headroom (writing there would change the views)', () => {
  const pool = new FramePool({ slotSize: 256, slots: 2 });
  const p = Packet.copyOf(pool, bytes(1, 2, 3), 32)!;
  assert.equal(p.headroom, 32);
  const v = p.share();
  assert.equal(p.headroom, 0);
  assert.equal(v.headroom, 0);
  v.release();
  p.release();
  assert.equal(pool.inUse, 0);
});

test('packet: trimming, including all of it, an empty packet, and across fragments', () => {
  const p = twoFragments();
  p.trimFront(1);
  assert.deepEqual([...p.toBytes()], [2, 3, 4, 5, 6, 7, 8]);
  p.trimFront(3);
  assert.deepEqual([...p.toBytes()], [5, 6, 7, 8]);
  assert.equal(p.fragmentCount, 1);
  p.trimBack(3);
  assert.deepEqual([...p.toBytes()], [5]);
  p.trimBack(10);
  assert.equal(p.length, 0);
  p.trimFront(1);
  assert.equal(p.length, 0);

  const q = twoFragments();
  q.trimBack(5);
  assert.deepEqual([...q.toBytes()], [1, 2, 3]);
  assert.equal(q.fragmentCount, 1);
  q.trimFront(100);
  assert.equal(q.length, 0);

  const empty = new Packet();
  empty.trimFront(5);
  empty.trimBack(5);
  assert.equal(empty.length, 0);
  assert.equal(empty.front(1), -1, 'no header in an empty packet');
});

test('packet: a SYN with no payload trims to an empty packet that can still be released', () => {
  const pool = new FramePool({ slotSize: 256, slots: 1 });
  const syn = Packet.copyOf(pool, new Uint8Array(54))!;
  syn.trimFront(14);
  syn.trimFront(20);
  syn.trimFront(20);
  assert.equal(syn.length, 0);
  assert.equal(syn.fragmentCount, 1);
  syn.release();
  assert.equal(pool.inUse, 0);
});

test('packet: trimming the front of an own frame gives the bytes back as headroom', () => {
  const pool = new FramePool({ slotSize: 256, slots: 1 });
  const p = Packet.copyOf(pool, new Uint8Array(54), 0)!;
  p.trimFront(14);
  assert.equal(p.headroom, 14);
  assert.equal(p.prepend(14), p.offs[0]);
  p.release();
});

test('packet: front() copies only when the header crosses a fragment boundary', () => {
  const p = twoFragments();
  const buf0 = p.bufs[0];
  assert.equal(p.front(4), 0);
  assert.equal(p.bufs[0], buf0, 'no copy within the first fragment');
  const at = p.front(6);
  assert.notEqual(p.bufs[0], buf0, 'a copy across the boundary');
  assert.deepEqual([...p.bufs[0]!.subarray(at, at + 6)], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...p.toBytes()], [1, 2, 3, 4, 5, 6, 7, 8], 'the packet is unchanged');
  assert.equal(p.front(9), -1, 'longer than the packet');
});

test('packet: share, trim and front agree with plain array slicing (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 20 }), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      fc.nat(),
      fc.nat(),
      (chunks, a, b, c) => {
        let released = 0;
        const p = new Packet();
        for (const ch of chunks) p.appendFragment(ch, 0, ch.length, new CallbackOwner(() => released++));
        const all = Uint8Array.from(chunks.flatMap((ch) => [...ch]));
        assert.equal(p.length, all.length);
        const off = all.length ? a % (all.length + 1) : 0;
        const len = (all.length - off) ? b % (all.length - off + 1) : 0;
        const v = p.share(off, len);
        assert.deepEqual(v.toBytes(), all.subarray(off, off + len));
        const t = c % (len + 1);
        v.trimFront(t);
        assert.deepEqual(v.toBytes(), all.subarray(off + t, off + len));
        v.trimBack(t);
        const expect = all.subarray(off + t, Math.max(off + t, off + len - t));
        assert.deepEqual(v.toBytes(), expect);
        if (expect.length) {
          const at = v.front(expect.length);
          assert.deepEqual(v.bufs[0]!.subarray(at, at + expect.length), expect);
        }
        p.release();
        assert.equal(released, 0);
        v.release();
        assert.equal(released, chunks.length, 'every owner released once');
      },
    ),
    { numRuns: 500 },
  );
});

test('packet: appendPacket moves ownership; offload info copies', () => {
  let released = 0;
  const a = Packet.wrap(bytes(1), 0, 1, new CallbackOwner(() => released++));
  const b = Packet.wrap(bytes(2, 3), 0, 2, new CallbackOwner(() => released++));
  b.gsoSize = 1448;
  a.copyOffloadFrom(b);
  a.appendPacket(b);
  assert.equal(b.length, 0);
  assert.deepEqual([...a.toBytes()], [1, 2, 3]);
  assert.equal(a.gsoSize, 1448);
  a.release();
  assert.equal(released, 2);
});

test('packet: a view made of a packet with no owner also takes the headroom away', () => {
  const p = Packet.wrap(bytes(1, 2, 3, 4, 5, 6));
  p.trimFront(2);
  const v = p.share();
  p.prepend(2);
  assert.deepEqual([...v.toBytes()], [3, 4, 5, 6], 'the view is untouched');
});

test('packet: a packet of 20,000 pieces releases them all, without recursion', () => {
  const pool = new FramePool({ slotSize: 64, slots: 20_001 });
  const p = Packet.alloc(pool, 0)!;
  for (let i = 0; i < 20_000; i++) p.appendPacket(Packet.alloc(pool, 0)!);
  assert.equal(pool.inUse, 20_001);
  p.release();
  assert.equal(pool.inUse, 0);
});

test('packet: appendShared appends a view as appendPacket(share()) would, and keeps the memory alive', () => {
  let released = 0;
  const src = twoFragments(() => released++);
  const p = Packet.wrap(bytes(0));
  p.appendShared(src, 2, 5);
  assert.deepEqual([...p.toBytes()], [0, 3, 4, 5, 6, 7]);
  assert.equal(src.headroom, 0, 'the source is shared now');
  src.release();
  assert.equal(released, 0, 'the view keeps it');
  p.release();
  assert.equal(released, 1);
  assert.throws(() => Packet.wrap(bytes(1)).appendShared(src, 0, 1), /released/);
});

test('packet: truesize is the memory kept alive — a frame by its slot, however little of it is used', () => {
  const pool = new FramePool({ slotSize: 2048, slots: 8 });
  const p = Packet.alloc(pool, 64)!;
  p.append(1);
  assert.equal(p.truesize, 2048, 'one byte in a 2 KB frame costs the frame');
  p.trimFront(1);
  assert.equal(p.truesize, 2048, 'trimming does not give the frame back');
  const q = Packet.alloc(pool, 64)!;
  q.append(100);
  p.appendPacket(q);
  assert.equal(p.truesize, 4096, 'a chain holds both frames');
  assert.equal(q.truesize, 0, 'what moved is no longer charged to the emptied packet');
  const view = p.share(0, 50);
  assert.equal(view.truesize, 50, 'a view is charged what it shows (the memory is charged to its holder)');
  const w = Packet.wrap(new Uint8Array(300), 0, 300);
  assert.equal(w.truesize, 300);
  p.release();
  view.release();
  assert.equal(p.truesize, 0);
  assert.equal(pool.inUse, 0);
});
