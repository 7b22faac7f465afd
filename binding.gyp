{
  "variables": {
    "has_fuse3": "<!(pkg-config --exists fuse3 && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "dbox_native",
      "sources": [
        "native/inroot.c",
        "native/identity.c",
        "native/link.c",
        "native/link-napi.c",
        "native/name-codec.c",
        "native/builtin-server.c",
        "native/terminal.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    },
    {
      "target_name": "dbox-attach",
      "type": "executable",
      "sources": [
        "native/attach.c",
        "native/attach-inject.c",
        "native/attach-confine.c",
        "native/attach-container.c",
        "native/attach-mount.c",
        "native/attach-state.c",
        "native/identity.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    },
    {
      "target_name": "dbox-attach-helper",
      "type": "executable",
      "sources": [
        "native/attach-helper.c",
        "native/attach-inject.c",
        "native/attach-confine.c",
        "native/attach-container.c",
        "native/attach-mount.c",
        "native/attach-state.c",
        "native/identity.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ],
      "ldflags": [
        "-static",
        "-s"
      ]
    },
    {
      "target_name": "dbox-snapshot",
      "type": "executable",
      "sources": [
        "native/attach-snapshot.c",
        "native/layers.c",
        "native/attach-mount.c",
        "native/attach-confine.c",
        "native/attach-container.c",
        "native/attach-state.c",
        "native/identity.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ],
      "ldflags": [
        "-static",
        "-s"
      ]
    },
    {
      "target_name": "dbox-ns",
      "type": "executable",
      "sources": [
        "native/session-ns.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    },
    {
      "target_name": "dbox-client",
      "type": "executable",
      "sources": [
        "native/builtin-client.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    },
    {
      "target_name": "dbox-agent",
      "type": "executable",
      "sources": [
        "native/agent/agent.c",
        "native/agent/fsops.c",
        "native/layers.c",
        "native/identity.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ],
      "ldflags": [
        "-static",
        "-s",
        "-pthread"
      ]
    },
    {
      "target_name": "dbox_fd_channel",
      "sources": [
        "native/agent/fd-channel.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    },
    {
      "target_name": "dbox-fuse",
      "conditions": [
        [
          "has_fuse3==1",
          {
            "type": "executable",
            "sources": [
              "native/fuse-server.c",
              "native/link.c"
            ],
            "cflags": [
              "-std=gnu11",
              "-O2",
              "-Wall",
              "-Wextra",
              "-Wno-unused-parameter",
              "<!@(pkg-config --cflags fuse3)"
            ],
            "libraries": [
              "<!@(pkg-config --libs fuse3)",
              "-lpthread"
            ]
          },
          {
            "type": "none"
          }
        ]
      ]
    }
  ]
}
