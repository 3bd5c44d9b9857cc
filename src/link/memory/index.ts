/** The in-process memory link: emulated NICs on a wire or a learning switch, with seeded faults. */
export { MemoryDevice, RX_HEADROOM, type MemoryDeviceOptions, type MemoryDeviceCounters, type MemoryAttachment } from './device.js';
export { MemoryQueue } from './queue.js';
export { MemoryWire, deriveSeed, type MemoryWireOptions } from './wire.js';
export { MemorySwitch, SwitchPort, type MemorySwitchOptions, type SwitchPortOptions, type SwitchCounters } from './switch.js';
export { Channel } from './channel.js';
export { newFaultCounters, normalizeFaults, hasPerFrameFaults, type FaultConfig, type FaultCounters, type Faults } from './faults.js';
export { Frame } from './frame.js';
export { LroMerger } from './merge.js';
export { hasherFor, rssHashOf } from './steer.js';
