/** Deferred callbacks: a target sets bits and is queued once; the Tcp dispatches them at safe points. */
export const EV_CONNECT = 1;
export const EV_READABLE = 2;
export const EV_WRITABLE = 4;
export const EV_END = 8;
export const EV_CLOSE = 16;
export const EV_CONNECTION = 32;

export interface EventTarget {
  events: number;
  inEventQueue: boolean;
  dispatchEvents(): void;
}

export type TcpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EHOSTUNREACH' | 'ENETUNREACH' | 'EPIPE' | 'ECONNABORTED' | 'EADDRNOTAVAIL';

export interface TcpError {
  code: TcpErrorCode;
  message: string;
}

export function tcpError(code: TcpErrorCode): TcpError {
  const messages: Record<TcpErrorCode, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset by peer',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'no route to host',
    ENETUNREACH: 'network is unreachable',
    EPIPE: 'broken pipe',
    ECONNABORTED: 'connection aborted',
    EADDRNOTAVAIL: 'cannot assign requested address',
  };
  return { code, message: messages[code] };
}
