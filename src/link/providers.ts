/**
 * The providers a queue pulls its transmit packets from (a stack's interface, usually
 * one), asked round-robin while the queue has room. Shared by every backend, so each
 * pulls the same way: a provider that has nothing is not asked again in the same pull.
 */
import type { Packet } from '../packet/packet.js';
import type { TxProvider } from './device.js';

/** Where pulled packets go: a TX ring, or a burst being put together. */
export interface TxSink {
  readonly full: boolean;
  push(p: Packet): unknown;
}

export class TxProviders {
  private readonly list: TxProvider[] = [];
  /** `skipped[i] === pass`: provider i had nothing in this pull. */
  private readonly skipped: number[] = [];
  private pass = 0;
  private next = 0;

  add(provider: TxProvider): void {
    if (this.list.includes(provider)) return;
    this.list.push(provider);
    this.skipped.push(0);
  }

  remove(provider: TxProvider): void {
    const i = this.list.indexOf(provider);
    if (i < 0) return;
    this.list.splice(i, 1);
    this.skipped.splice(i, 1);
    if (this.next >= this.list.length) this.next = 0;
  }

  /** Pulls into `sink` while it has room and some provider has something; returns the packets pulled. */
  pullInto(sink: TxSink): number {
    const pass = ++this.pass;
    let pulled = 0;
    // `idle`: providers in a row that had nothing (or already said so in this pull).
    let idle = 0;
    while (!sink.full) {
      const n = this.list.length;
      if (idle >= n) break;
      if (this.next >= n) this.next = 0;
      const i = this.next;
      this.next = i + 1 === n ? 0 : i + 1;
      if (this.skipped[i] === pass) {
        idle++;
        continue;
      }
      const pkt = this.list[i]!();
      if (pkt === null) {
        this.skipped[i] = pass;
        idle++;
      } else {
        sink.push(pkt);
        pulled++;
        idle = 0;
      }
    }
    return pulled;
  }
}
