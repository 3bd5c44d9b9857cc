/**
 * The layout of the two control arrays (Int32Array) the TAP queue shares with the
 * native addon (native/layout.h): the receive array (posted buffers in, one record per
 * frame out) and the transmit array (per frame a virtio header, then its fragments).
 * The addon exports its own numbers; a test checks that they are these.
 */

/** struct virtio_net_hdr_v1 (include/uapi/linux/virtio_net.h), as set with TUNSETVNETHDRSZ. */
export const VNET_HDR_LEN = 12;

// Receive: [errno, large buffers used, -, -], posted small buffers (burst), posted large
// buffers (burst), then `burst` records of RX_REC_WORDS.
export const RX_ERRNO = 0;
export const RX_LARGE_USED = 1;
export const RX_HEADER_WORDS = 4;
export const RX_REC_LEN = 0;
export const RX_REC_FLAGS = 1;
export const RX_REC_GSO_TYPE = 2;
export const RX_REC_HDR_LEN = 3;
export const RX_REC_GSO_SIZE = 4;
export const RX_REC_CSUM_START = 5;
export const RX_REC_CSUM_OFFSET = 6;
export const RX_REC_STATUS = 7;
export const RX_REC_WORDS = 8;
/** Record status: in the small buffer; continued in the next posted large buffer; dropped. */
export const RX_SMALL = 0;
export const RX_LARGE = 1;
export const RX_NO_BUFFER = 2;
export const RX_TRUNCATED = 3;

/** Words of a receive control array for `burst` frames. */
export function rxCtrlWords(burst: number): number {
  return RX_HEADER_WORDS + burst * (2 + RX_REC_WORDS);
}

// Transmit: per frame [fragments, flags, gso_type, hdr_len, gso_size, csum_start,
// csum_offset, result], then per fragment [buffer index, offset, length].
export const TX_FRAGS = 0;
export const TX_FLAGS = 1;
export const TX_GSO_TYPE = 2;
export const TX_HDR_LEN = 3;
export const TX_GSO_SIZE = 4;
export const TX_CSUM_START = 5;
export const TX_CSUM_OFFSET = 6;
export const TX_RESULT = 7;
export const TX_FRAME_WORDS = 8;
export const TX_FRAG_WORDS = 3;
/** writev takes at most IOV_MAX (1024) pieces, and one is the header. */
export const TX_MAX_FRAGS = 1023;

/** What the addon's `layout` export says, by the names it uses. */
export const NATIVE_LAYOUT: Readonly<Record<string, number>> = {
  vnetHdrLen: VNET_HDR_LEN,
  rxErrno: RX_ERRNO,
  rxLargeUsed: RX_LARGE_USED,
  rxHeaderWords: RX_HEADER_WORDS,
  rxRecWords: RX_REC_WORDS,
  rxRecLen: RX_REC_LEN,
  rxRecFlags: RX_REC_FLAGS,
  rxRecGsoType: RX_REC_GSO_TYPE,
  rxRecHdrLen: RX_REC_HDR_LEN,
  rxRecGsoSize: RX_REC_GSO_SIZE,
  rxRecCsumStart: RX_REC_CSUM_START,
  rxRecCsumOffset: RX_REC_CSUM_OFFSET,
  rxRecStatus: RX_REC_STATUS,
  rxSmall: RX_SMALL,
  rxLarge: RX_LARGE,
  rxNoBuffer: RX_NO_BUFFER,
  rxTruncated: RX_TRUNCATED,
  txFrameWords: TX_FRAME_WORDS,
  txFragWords: TX_FRAG_WORDS,
  txFrags: TX_FRAGS,
  txFlags: TX_FLAGS,
  txGsoType: TX_GSO_TYPE,
  txHdrLen: TX_HDR_LEN,
  txGsoSize: TX_GSO_SIZE,
  txCsumStart: TX_CSUM_START,
  txCsumOffset: TX_CSUM_OFFSET,
  txResult: TX_RESULT,
  txMaxFrags: TX_MAX_FRAGS,
};
