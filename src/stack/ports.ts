/** The ephemeral port range TCP and UDP pick from (Linux's ip_local_port_range default). */
export const EPHEMERAL_LOW = 32768;
export const EPHEMERAL_HIGH = 60999;
