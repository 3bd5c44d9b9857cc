// Batched transmit: one call writes a burst of frames, each with one writev() of its
// virtio_net_hdr and its fragments (views into JS buffers). The kernel finishes the
// checksum of a NEEDS_CSUM frame and segments a GSO frame (virtio_net_hdr_to_skb).
// EAGAIN ends the burst: the frames left are the caller's to send later (back pressure).
#include <endian.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "layout.h"
#include "queue_io.h"

namespace shoal {

Napi::Value QueueIo::Transmit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int frames = info[0].As<Napi::Number>().Int32Value();
  Napi::Array bufs = info[1].As<Napi::Array>();
  // The array is reused and keeps its length; only its first nbufs entries are this call's.
  uint32_t nbufs = info[2].As<Napi::Number>().Uint32Value();
  if (nbufs > bufs.Length()) throw Napi::RangeError::New(env, "more transmit buffers named than given");
  bufs_.clear();
  for (uint32_t i = 0; i < nbufs; i++) {
    Napi::Value v = bufs.Get(i);
    if (!v.IsTypedArray()) throw Napi::TypeError::New(env, "transmit buffers must be Uint8Arrays");
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    bufs_.emplace_back(a.Data(), a.ByteLength());
  }
  int32_t* ctrl = tx_;
  size_t at = 0;
  struct iovec iov[kTxMaxFrags + 1];
  int done = 0;
  for (; done < frames && fd_ >= 0; done++) {
    if (at + kTxFrameWords > txWords_) throw Napi::RangeError::New(env, "transmit control array overrun");
    int32_t* f = ctrl + at;
    int nfrags = f[kTxFrags];
    if (nfrags < 0 || nfrags > kTxMaxFrags || at + kTxFrameWords + static_cast<size_t>(nfrags) * kTxFragWords > txWords_) {
      throw Napi::RangeError::New(env, "bad fragment count in the transmit control array");
    }
    VnetHdr h;
    std::memset(&h, 0, sizeof h);
    h.flags = static_cast<uint8_t>(f[kTxFlags]);
    h.gso_type = static_cast<uint8_t>(f[kTxGsoType]);
    h.hdr_len = htole16(static_cast<uint16_t>(f[kTxHdrLen]));
    h.gso_size = htole16(static_cast<uint16_t>(f[kTxGsoSize]));
    h.csum_start = htole16(static_cast<uint16_t>(f[kTxCsumStart]));
    h.csum_offset = htole16(static_cast<uint16_t>(f[kTxCsumOffset]));
    iov[0].iov_base = &h;
    iov[0].iov_len = kVnetHdrLen;
    size_t total = kVnetHdrLen;
    const int32_t* frag = f + kTxFrameWords;
    for (int k = 0; k < nfrags; k++, frag += kTxFragWords) {
      uint32_t b = static_cast<uint32_t>(frag[0]);
      int32_t off = frag[1];
      int32_t len = frag[2];
      // Never read outside what JS handed over, whatever the control array says.
      if (b >= bufs_.size() || off < 0 || len < 0 || static_cast<size_t>(off) + len > bufs_[b].second) {
        throw Napi::RangeError::New(env, "transmit fragment outside its buffer");
      }
      iov[k + 1].iov_base = bufs_[b].first + off;
      iov[k + 1].iov_len = len;
      total += len;
    }
    ssize_t put = writev(fd_, iov, nfrags + 1);
    if (put < 0 && errno == EINTR) {
      done--;
      continue;
    }
    if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // tun takes a frame whole or not at all; anything else is this frame's error
    // (EINVAL: a header the kernel refused), and the burst goes on.
    f[kTxResult] = put < 0 ? errno : (static_cast<size_t>(put) == total ? 0 : EIO);
    at += kTxFrameWords + static_cast<size_t>(nfrags) * kTxFragWords;
  }
  return Napi::Number::New(env, done);
}

}  // namespace shoal
