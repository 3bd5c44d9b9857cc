/**
 * The TAP link's one-line errors: the mapping from the addon's system errors (unit
 * tests), the real ones where they can be made (a missing clone device; a busy device
 * and no privilege, each in a namespace of the test's own), and a package that loads
 * without the addon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TapDevice } from '../../src/link/tap/device.js';
import { TapError, tapOpenError, TapUnavailableError } from '../../src/link/tap/errors.js';
import { checkLayout, loadTapAddon } from '../../src/link/tap/native.js';
import { NATIVE_LAYOUT } from '../../src/link/tap/layout.js';
import { requireOrSkip } from '../support/require.js';
import { requireTap, tapTestsUnavailable, withNetns } from './tap-netns.js';

const run = promisify(execFile);

function sysErr(code: string, errno: number, syscall: string): Error {
  return Object.assign(new Error(`${syscall}: ${code}`), { code, errno, syscall });
}

function oneLine(e: Error): void {
  assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
}

test('tap errors: no privilege says CAP_NET_ADMIN and what to do', () => {
  for (const code of ['EPERM', 'EACCES']) {
    const e = tapOpenError(sysErr(code, -1, 'ioctl(TUNSETIFF)'), 'shtap0', '/dev/net/tun') as TapError;
    assert.ok(e instanceof TapError);
    assert.equal(e.code, code);
    assert.equal(e.syscall, 'ioctl(TUNSETIFF)');
    assert.match(e.message, /^cannot open TAP shtap0: no privilege: .*CAP_NET_ADMIN.*run as root.*setcap cap_net_admin\+ep/);
    oneLine(e);
  }
});

test('tap errors: a missing /dev/net/tun says modprobe tun or mknod', () => {
  for (const code of ['ENOENT', 'ENODEV']) {
    const e = tapOpenError(sysErr(code, -2, 'open'), '', '/dev/net/tun') as TapError;
    assert.equal(e.code, code);
    assert.match(e.message, /^cannot open a TAP device: \/dev\/net\/tun is missing: load the tun module \(modprobe tun\) or create the device node \(.*mknod \/dev\/net\/tun c 10 200\)/);
    oneLine(e);
  }
});

test('tap errors: a busy device says another process has it, and a clashing name says ip link del', () => {
  const busy = tapOpenError(sysErr('EBUSY', -16, 'ioctl(TUNSETIFF)'), 'shtap0', '/dev/net/tun') as TapError;
  assert.equal(busy.code, 'EBUSY');
  assert.match(busy.message, /^cannot open TAP shtap0: the device is busy: another process has it open/);
  oneLine(busy);
  const clash = tapOpenError(sysErr('EINVAL', -22, 'ioctl(TUNSETIFF)'), 'eth9', '/dev/net/tun') as TapError;
  assert.match(clash.message, /interface named eth9 exists .*ip link del eth9/);
  oneLine(clash);
});

test('tap errors: other system errors keep their words; what is not a system error passes through', () => {
  const e = tapOpenError(sysErr('EMFILE', -24, 'open'), 'x', '/dev/net/tun') as TapError;
  assert.equal(e.code, 'EMFILE');
  assert.match(e.message, /^cannot open TAP x: open: EMFILE \[EMFILE\]$/);
  const plain = new RangeError('bad');
  assert.equal(tapOpenError(plain, 'x', '/dev/net/tun'), plain);
});

test('tap errors: an addon built from other sources is refused in one line', () => {
  assert.doesNotThrow(() => checkLayout({ ...NATIVE_LAYOUT }));
  assert.throws(
    () => checkLayout({ ...NATIVE_LAYOUT, rxRecWords: 9 }),
    (e: Error) => e instanceof TapUnavailableError && /does not match this version \(layout\.rxRecWords is 9, expected 8\): rebuild it/.test(e.message) && !e.message.includes('\n'),
  );
});

test('tap errors: the built addon uses the control-array layout of these sources', (t) => {
  const why = tapTestsUnavailable();
  if (!requireOrSkip(t, why === null || !/addon/.test(why), why ?? '')) return;
  const layout = loadTapAddon().layout;
  for (const [k, v] of Object.entries(NATIVE_LAYOUT)) assert.equal(layout[k], v, k);
});

test('tap errors: importing Shoal does not load the addon (everything but TAP works without it)', async () => {
  const index = fileURLToPath(new URL('../../src/index.js', import.meta.url));
  // Every native module Node loads goes through process.dlopen.
  const script = `
    const loaded = [];
    const dlopen = process.dlopen;
    process.dlopen = (m, file, ...rest) => { loaded.push(file); return dlopen.call(process, m, file, ...rest); };
    const shoal = await import(${JSON.stringify(index)});
    if (typeof shoal.TapDevice.open !== 'function' || typeof shoal.MemoryNetwork !== 'function') throw new Error('exports missing');
    console.log(JSON.stringify(loaded));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  assert.deepEqual(JSON.parse(stdout), []);
});

test('tap errors: a clone device that does not exist gives ENOENT in one line', (t) => {
  const why = tapTestsUnavailable();
  // Needs the addon only (no root): the open fails before any privilege is checked.
  if (!requireOrSkip(t, why === null || !/addon/.test(why), why ?? '')) return;
  assert.throws(
    () => TapDevice.open({ name: 'shtapnone', tunPath: '/nonexistent/net/tun' }),
    (e: Error) => e instanceof TapError && e.code === 'ENOENT' && /\/nonexistent\/net\/tun is missing: load the tun module/.test(e.message) && !e.message.includes('\n'),
  );
});

/** Opens TAP `name` in a child process inside `ns`, twice when `twice`; prints what happened as JSON. */
function openerScript(name: string, twice: boolean): string {
  const device = fileURLToPath(new URL('../../src/link/tap/device.js', import.meta.url));
  return `
    const { TapDevice } = await import(${JSON.stringify(device)});
    const report = (e) => console.log(JSON.stringify(e ? { code: e.code, message: e.message } : { ok: true }));
    let first = null;
    try {
      first = TapDevice.open({ name: ${JSON.stringify(name)} });
      if (${twice}) TapDevice.open({ name: ${JSON.stringify(name)} }).close();
      report(null);
    } catch (e) { report(e); } finally { first?.close(); }`;
}

test('tap errors: a TAP already open (without multi-queue) is busy: EBUSY in one line', async (t) => {
  if (!requireTap(t)) return;
  const name = `shtap${randomBytes(4).toString('hex')}`;
  await withNetns(async (_ns, exec) => {
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', openerScript(name, true)]);
    const r = JSON.parse(stdout) as { code: string; message: string };
    assert.equal(r.code, 'EBUSY');
    assert.match(r.message, new RegExp(`^cannot open TAP ${name}: the device is busy`));
  });
});

test('tap errors: without CAP_NET_ADMIN the open fails with EPERM in one line', async (t) => {
  if (!requireTap(t, 'setpriv')) return;
  const name = `shtap${randomBytes(4).toString('hex')}`;
  await withNetns(async (_ns, exec) => {
    // Root without CAP_NET_ADMIN: dropped from the bounding and inheritable sets before exec.
    const { stdout } = await exec('setpriv', ['--inh-caps=-net_admin', '--bounding-set=-net_admin', process.execPath, '--input-type=module', '-e', openerScript(name, false)]);
    const r = JSON.parse(stdout) as { code: string; message: string };
    assert.equal(r.code, 'EPERM');
    assert.match(r.message, new RegExp(`^cannot open TAP ${name}: no privilege: creating a TAP device needs CAP_NET_ADMIN`));
  });
});
