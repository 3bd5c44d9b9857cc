// Batched receive: one call drains up to a burst of frames from the TAP fd, each with
// one readv() into buffers the JS side posted (offsets into its frame pools), and
// records each frame's length and virtio_net_hdr fields in the receive control array.
// Nothing is allocated per frame.
#include <endian.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "layout.h"
#include "queue_io.h"

namespace shoal {

Napi::Value QueueIo::Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int max = info[0].As<Napi::Number>().Int32Value();
  if (max > burst_) max = burst_;
  int32_t* ctrl = rx_;
  const int32_t* postedSmall = ctrl + kRxHeaderWords;
  const int32_t* postedLarge = postedSmall + burst_;
  int32_t* records = ctrl + kRxHeaderWords + 2 * burst_;
  ctrl[kRxErrno] = 0;
  int large = 0;
  int n = 0;
  while (n < max && fd_ >= 0) {
    // A small buffer (the frame's first smallCap bytes, the vnet header in the 12 bytes
    // of headroom in front of it) and, if one is posted, a large one for the rest: the
    // kernel hands over GSO frames of up to 64 KB (tuntap.rst; TUN_F_TSO4).
    struct iovec iov[2];
    int iovcnt = 1;
    int32_t off = postedSmall[n];
    bool posted = off >= kVnetHdrLen && static_cast<size_t>(off) + smallCap_ <= smallLen_;
    if (off >= 0 && !posted) throw Napi::RangeError::New(env, "posted receive buffer outside the pool");
    if (posted) {
      iov[0].iov_base = small_ + off - kVnetHdrLen;
      iov[0].iov_len = kVnetHdrLen + smallCap_;
      int32_t loff = large < burst_ ? postedLarge[large] : -1;
      if (loff >= 0 && large_ != nullptr) {
        if (static_cast<size_t>(loff) + largeCap_ > largeLen_) throw Napi::RangeError::New(env, "posted large buffer outside the pool");
        iov[1].iov_base = large_ + loff;
        iov[1].iov_len = largeCap_;
        iovcnt = 2;
      }
    } else {
      iov[0].iov_base = scratch_.data();
      iov[0].iov_len = scratch_.size();
    }
    size_t capacity = iov[0].iov_len + (iovcnt == 2 ? iov[1].iov_len : 0);
    ssize_t got = readv(fd_, iov, iovcnt);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) ctrl[kRxErrno] = errno;
      break;
    }
    int32_t* r = records + n * kRxRecWords;
    std::memset(r, 0, kRxRecWords * sizeof(int32_t));
    n++;
    if (got < kVnetHdrLen) {
      r[kRxRecStatus] = kRxTruncated;
      continue;
    }
    r[kRxRecLen] = static_cast<int32_t>(got - kVnetHdrLen);
    // A read that fills every byte offered may have been cut short: drop it.
    if (!posted || static_cast<size_t>(got) >= capacity) {
      r[kRxRecStatus] = posted ? kRxTruncated : kRxNoBuffer;
      continue;
    }
    VnetHdr h;
    std::memcpy(&h, iov[0].iov_base, sizeof h);
    r[kRxRecFlags] = h.flags;
    r[kRxRecGsoType] = h.gso_type;
    r[kRxRecHdrLen] = le16toh(h.hdr_len);
    r[kRxRecGsoSize] = le16toh(h.gso_size);
    r[kRxRecCsumStart] = le16toh(h.csum_start);
    r[kRxRecCsumOffset] = le16toh(h.csum_offset);
    if (static_cast<size_t>(got) > iov[0].iov_len) {
      r[kRxRecStatus] = kRxLarge;
      large++;
    } else {
      r[kRxRecStatus] = kRxSmall;
    }
  }
  ctrl[kRxLargeUsed] = large;
  return Napi::Number::New(env, n);
}

}  // namespace shoal
