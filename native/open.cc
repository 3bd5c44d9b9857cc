// Opening a TAP queue: what Node cannot do because it takes ioctl() on /dev/net/tun
// (Documentation/networking/tuntap.rst, include/uapi/linux/if_tun.h).
#include "open.h"

#include <endian.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errors.h"
#include "layout.h"

namespace shoal {

namespace {

[[noreturn]] void Fail(Napi::Env env, int fd, const char* syscall, const std::string& what) {
  int err = errno;
  if (fd >= 0) close(fd);
  ThrowErrno(env, err, syscall, what.c_str());
}

}  // namespace

// openTap(path, name, multiQueue) -> { fd, name }
Napi::Value OpenTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  std::string name = info[1].As<Napi::String>();
  bool multiQueue = info[2].As<Napi::Boolean>();
  if (name.size() >= IFNAMSIZ) throw Napi::RangeError::New(env, "interface name longer than 15 bytes: " + name);

  int fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) Fail(env, -1, "open", path);

  // IFF_NO_PI: no 4-byte packet information in front of frames; IFF_VNET_HDR: a
  // virtio_net_hdr in front instead, which carries the checksum and GSO offloads.
  // IFF_MULTI_QUEUE: one fd per queue, each opened with the same name (tuntap.rst,
  // "Multiqueue tuntap interface").
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multiQueue ? IFF_MULTI_QUEUE : 0);
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) Fail(env, fd, "ioctl(TUNSETIFF)", name.empty() ? path : name);

  // 12 bytes: struct virtio_net_hdr_v1, the virtio 1.0 layout (num_buffers last, which
  // tun neither reads nor fills). The 10-byte legacy header would do as well; 12 keeps
  // what follows 4-byte aligned and is what vhost-net and QEMU use with VERSION_1.
  int hdrLen = kVnetHdrLen;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdrLen) < 0) Fail(env, fd, "ioctl(TUNSETVNETHDRSZ)", ifr.ifr_name);

  // virtio 1.0 headers are little-endian; tun uses the host's order unless told
  // (if_tun.h, TUNSETVNETLE). Only a big-endian host needs it, and there it must work.
#if __BYTE_ORDER == __BIG_ENDIAN
  int le = 1;
  if (ioctl(fd, TUNSETVNETLE, &le) < 0) Fail(env, fd, "ioctl(TUNSETVNETLE)", ifr.ifr_name);
#endif

  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("name", Napi::String::New(env, ifr.ifr_name));
  return result;
}

// setOffload(fd, flags): TUNSETOFFLOAD with TUN_F_* bits. The kernel refuses (EINVAL)
// a set with a bit it does not know, so the caller tries smaller sets.
Napi::Value SetOffload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  unsigned int flags = info[1].As<Napi::Number>().Uint32Value();
  if (ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(flags)) < 0) {
    ThrowErrno(env, errno, "ioctl(TUNSETOFFLOAD)", std::to_string(flags).c_str());
  }
  return env.Undefined();
}

Napi::Object OffloadFlags(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("CSUM", TUN_F_CSUM);
  o.Set("TSO4", TUN_F_TSO4);
  o.Set("TSO6", TUN_F_TSO6);
  o.Set("TSO_ECN", TUN_F_TSO_ECN);
  return o;
}

}  // namespace shoal
