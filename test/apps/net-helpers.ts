/** Helpers for the end-to-end tests over node:net on 127.0.0.1. */
import net from 'node:net';
import { once } from 'node:events';

/** A node:net server on 127.0.0.1 and an ephemeral port, already listening. */
export async function listenLocal(server: net.Server = net.createServer()): Promise<{ server: net.Server; port: number }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}

export async function closeServer(server: net.Server): Promise<void> {
  server.close();
  (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  if (server.listening) await once(server, 'close');
}

/** A client connection that collects what it receives. */
export class LineClient {
  private chunks: Buffer[] = [];
  private size = 0;
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<LineClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new LineClient(socket);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Everything received so far. */
  received(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  get receivedLength(): number {
    return this.size;
  }

  /** Whether what was received ends with `suffix` (looks only at the last chunks). */
  private endsWith(suffix: string): boolean {
    const tail: Buffer[] = [];
    let n = 0;
    for (let i = this.chunks.length - 1; i >= 0 && n < suffix.length; i--) {
      tail.unshift(this.chunks[i]!);
      n += this.chunks[i]!.length;
    }
    return Buffer.concat(tail).toString('latin1').endsWith(suffix);
  }

  /** Waits until `done` holds (or the socket closes), then returns and clears what was received. */
  async until(suffix: string | (() => boolean), timeoutMs = 10_000): Promise<string> {
    const done = typeof suffix === 'string' ? () => this.endsWith(suffix) : suffix;
    const deadline = Date.now() + timeoutMs;
    while (!done() && !this.closed) {
      if (Date.now() > deadline) throw new Error(`timed out waiting; got ${this.size} bytes, ending ${JSON.stringify(this.received().toString('latin1').slice(-200))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    const s = this.received().toString('latin1');
    this.chunks = [];
    this.size = 0;
    return s;
  }

  /** Sends `text` and waits for a reply ending with `suffix`. */
  async ask(text: string | Buffer, suffix: string): Promise<string> {
    this.socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
    return this.until(suffix);
  }

  /** Waits for the connection to close; returns what arrived before. */
  async waitClose(timeoutMs = 10_000): Promise<string> {
    const got = await this.until(() => false, timeoutMs);
    if (!this.closed) throw new Error('the connection did not close');
    return got;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Polls `ready` every 10 ms until it holds (or fails after `timeoutMs`). */
export async function waitFor(ready: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms: ${ready.toString()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
