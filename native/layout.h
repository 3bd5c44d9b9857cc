// The layout of the control arrays (Int32Array) that the addon shares with
// src/link/tap/layout.ts. Both sides must agree: the addon exports these numbers
// (`layout`) and a test compares them with the TypeScript constants.
#pragma once
#include <cstdint>

namespace shoal {

// struct virtio_net_hdr_v1 of include/uapi/linux/virtio_net.h, little-endian fields
// (that header cannot be included from C++: a member there is named `class`).
struct VnetHdr {
  uint8_t flags;        // VIRTIO_NET_HDR_F_NEEDS_CSUM 1, _DATA_VALID 2
  uint8_t gso_type;     // VIRTIO_NET_HDR_GSO_NONE 0, _TCPV4 1, _UDP 3, _TCPV6 4, | _ECN 0x80
  uint16_t hdr_len;     // Ethernet + IP + TCP/UDP headers
  uint16_t gso_size;    // bytes of payload per segment
  uint16_t csum_start;  // where the checksum sum starts (from the Ethernet header)
  uint16_t csum_offset; // where after csum_start the sum goes
  uint16_t num_buffers; // mergeable receive buffers: tun neither reads nor fills it
};
static_assert(sizeof(VnetHdr) == 12, "virtio_net_hdr_v1 is 12 bytes");

// The header length set with TUNSETVNETHDRSZ.
constexpr int kVnetHdrLen = sizeof(VnetHdr);

// Receive control array: a few words, then the posted buffers, then one record per frame.
constexpr int kRxErrno = 0;      // errno of a read that failed (0: none)
constexpr int kRxLargeUsed = 1;  // posted large buffers the last call filled
constexpr int kRxHeaderWords = 4;
// Per frame: its length (without the vnet header), the header's fields, and a status.
constexpr int kRxRecLen = 0;
constexpr int kRxRecFlags = 1;
constexpr int kRxRecGsoType = 2;
constexpr int kRxRecHdrLen = 3;
constexpr int kRxRecGsoSize = 4;
constexpr int kRxRecCsumStart = 5;
constexpr int kRxRecCsumOffset = 6;
constexpr int kRxRecStatus = 7;
constexpr int kRxRecWords = 8;
// Record status.
constexpr int kRxSmall = 0;      // the frame is in its small buffer
constexpr int kRxLarge = 1;      // it continues in the next posted large buffer
constexpr int kRxNoBuffer = 2;   // no buffer was posted: read and dropped
constexpr int kRxTruncated = 3;  // longer than the buffers: dropped

// Transmit control array: per frame a header, then its fragments.
constexpr int kTxFrags = 0;
constexpr int kTxFlags = 1;
constexpr int kTxGsoType = 2;
constexpr int kTxHdrLen = 3;
constexpr int kTxGsoSize = 4;
constexpr int kTxCsumStart = 5;
constexpr int kTxCsumOffset = 6;
constexpr int kTxResult = 7;     // 0 sent, else the errno of this frame's writev
constexpr int kTxFrameWords = 8;
constexpr int kTxFragWords = 3;  // buffer index, offset, length
// writev takes at most IOV_MAX (1024) pieces; one is the vnet header.
constexpr int kTxMaxFrags = 1023;

}  // namespace shoal
