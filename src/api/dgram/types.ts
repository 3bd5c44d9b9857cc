/** The shapes node:dgram's API uses (@types/node's dgram module), for udp4. */

import type { Buffer } from 'node:buffer';

export type SocketType = 'udp4';

export interface SocketOptions {
  type: SocketType;
  /** SO_REUSEADDR: bind a port other sockets that set it hold too. */
  reuseAddr?: boolean;
  /** SO_RCVBUF / SO_SNDBUF, set when the socket starts listening. */
  recvBufferSize?: number;
  sendBufferSize?: number;
}

export interface BindOptions {
  port?: number;
  address?: string;
  exclusive?: boolean;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4';
  port: number;
}

export interface RemoteInfo extends AddressInfo {
  size: number;
}

export type MessageListener = (msg: Buffer, rinfo: RemoteInfo) => void;

export type SendCallback = (error: Error | null, bytes?: number) => void;

/** What send() takes as a datagram. */
export type SendData = string | ArrayBufferView | ReadonlyArray<string | ArrayBufferView>;
