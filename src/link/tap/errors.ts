/**
 * The TAP link's errors, each one line that says what to do. The addon throws Node-style
 * system errors (`code`, `errno`, `syscall`); `tapOpenError` keeps those fields and
 * puts the advice in the message.
 */

export class TapError extends Error {
  readonly code: string;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;

  constructor(message: string, code: string, errno?: number, syscall?: string) {
    super(message);
    this.name = 'TapError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

/** The addon is missing or did not load: everything but the TAP link works. */
export class TapUnavailableError extends TapError {
  constructor(message: string) {
    super(message, 'ERR_SHOAL_TAP_UNAVAILABLE');
    this.name = 'TapUnavailableError';
  }
}

interface SystemErrorLike {
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  message?: unknown;
}

/**
 * The error for a failed open of TAP `name` through `path` (the clone device), from what
 * the addon threw. Known causes get advice; anything else keeps the system's words.
 */
export function tapOpenError(err: unknown, name: string, path: string): Error {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SystemErrorLike;
  if (typeof e.code !== 'string') return err instanceof Error ? err : new Error(String(err));
  const code = e.code;
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  const syscall = typeof e.syscall === 'string' ? e.syscall : undefined;
  const what = name === '' ? 'a TAP device' : `TAP ${name}`;
  let advice: string;
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      advice = `no privilege: creating a TAP device needs CAP_NET_ADMIN (and ${path} read-write access): run as root, or give node the capability (setcap cap_net_admin+ep "$(command -v node)")`;
      break;
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
      advice = `${path} is missing: load the tun module (modprobe tun) or create the device node (mkdir -p /dev/net && mknod /dev/net/tun c 10 200)`;
      break;
    case 'EBUSY':
      advice = 'the device is busy: another process has it open (a TAP without multi-queue takes one fd): close that process or pick another name';
      break;
    case 'EINVAL':
      advice =
        syscall === 'ioctl(TUNSETIFF)'
          ? `an interface named ${name} exists and is not a TAP opened the same way (tun, or another number of queues): delete it (ip link del ${name}) or pick another name`
          : `the kernel refused a setting (${syscall ?? 'ioctl'}): it may be too old for vnet headers`;
      break;
    default:
      advice = typeof e.message === 'string' ? e.message : code;
  }
  return new TapError(`cannot open ${what}: ${advice} [${code}]`, code, errno, syscall);
}
