{
  # The native addon (native/): built by `npm ci` through the install script, with
  # node-gyp against node-addon-api (C++ exceptions on). Linux only: TAP is /dev/net/tun.
  "targets": [
    {
      "target_name": "shoal_native",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/addon.cc",
            "native/errors.cc",
            "native/open.cc",
            "native/queue_io.cc",
            "native/rx.cc",
            "native/tx.cc"
          ]
        }]
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
