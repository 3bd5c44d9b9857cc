/**
 * The native addon (native/, built by `npm ci` into build/Release/shoal_native.node),
 * loaded on first use, never at import: without it everything but the TAP link works,
 * and `loadTapAddon()` says in one line why the TAP link does not.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TapUnavailableError } from './errors.js';
import { NATIVE_LAYOUT } from './layout.js';

/** Readiness events, as libuv numbers them (UV_READABLE, UV_WRITABLE). */
export const POLL_READABLE = 1;
export const POLL_WRITABLE = 2;

/** One queue's fd in the addon. */
export interface NativeQueueIo {
  /** Reads up to `max` frames into the posted buffers; returns how many records it wrote. */
  receive(max: number): number;
  /** Writes `frames` frames described in the transmit control array, from `bufs[0, nbufs)`; returns how many are done. */
  transmit(frames: number, bufs: (Uint8Array | null)[], nbufs: number): number;
  /** Calls `onReady(status, events)` while the fd is ready for `events` (0: stop). */
  watch(events: number): void;
  /** Stops watching and closes the fd. */
  close(): void;
}

export interface NativeQueueIoConstructor {
  new (
    fd: number,
    burst: number,
    rxCtrl: Int32Array,
    small: Uint8Array,
    smallCap: number,
    large: Uint8Array | null,
    largeCap: number,
    txCtrl: Int32Array,
    onReady: (status: number, events: number) => void,
  ): NativeQueueIo;
}

export interface TapAddon {
  /** Opens `path` and attaches to (or creates) TAP `name` (empty: the kernel names it). */
  openTap(path: string, name: string, multiQueue: boolean): { fd: number; name: string };
  /** TUNSETOFFLOAD with TUN_F_* bits; throws EINVAL for a set the kernel does not know. */
  setOffload(fd: number, flags: number): void;
  offloadFlags: { CSUM: number; TSO4: number; TSO6: number; TSO_ECN: number };
  layout: Record<string, number>;
  QueueIo: NativeQueueIoConstructor;
}

const ADDON = join('build', 'Release', 'shoal_native.node');

let loaded: TapAddon | null = null;

/** The addon, or a TapUnavailableError saying why there is none. */
export function loadTapAddon(): TapAddon {
  if (loaded !== null) return loaded;
  if (process.platform !== 'linux') throw new TapUnavailableError(`the TAP link works on Linux only (/dev/net/tun), not on ${process.platform}`);
  const path = findAddon();
  if (path === null) {
    throw new TapUnavailableError(
      `the TAP link needs Shoal's native addon, which was not built (no ${ADDON}): install python3, make and g++, then run \`npm rebuild\` in the package`,
    );
  }
  let addon: TapAddon;
  try {
    addon = createRequire(import.meta.url)(path) as TapAddon;
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new TapUnavailableError(`the TAP link needs Shoal's native addon, which did not load (${why}): rebuild it with \`npm rebuild\``);
  }
  checkLayout(addon.layout);
  loaded = addon;
  return addon;
}

/** The built addon from this module's folder upwards (src/link/tap in dist or in the sources). */
function findAddon(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/** An addon built from other sources than these would misread the control arrays. */
export function checkLayout(layout: Record<string, number>): void {
  for (const [key, value] of Object.entries(NATIVE_LAYOUT)) {
    if (layout[key] !== value) {
      throw new TapUnavailableError(`Shoal's native addon does not match this version (layout.${key} is ${layout[key]}, expected ${value}): rebuild it with \`npm rebuild\``);
    }
  }
}

/** Why a TAP cannot be opened here (not Linux, not root, no /dev/net/tun, no addon), or null when it can. */
export function tapUnavailable(): string | null {
  if (process.platform !== 'linux') return 'TAP needs Linux';
  if (process.getuid?.() !== 0) return 'TAP needs root (CAP_NET_ADMIN) for network namespaces and TAP devices';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing (modprobe tun)';
  try {
    loadTapAddon();
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}
