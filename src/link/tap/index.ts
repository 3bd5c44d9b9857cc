/** The TAP link: the Linux kernel on the other end of a TAP device, through the native addon (loaded on open). */
export { TapDevice, type TapDeviceOptions, type TapQueues } from './device.js';
export { TapQueue, type TapQueueCounters } from './queue.js';
export { TapError, TapUnavailableError, tapOpenError } from './errors.js';
export { loadTapAddon, type TapAddon } from './native.js';
export { applyRxHeader, writeTxHeader, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_GSO_ECN } from './vnet-header.js';
