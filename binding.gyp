{
  "targets": [
    {
      "target_name": "dbox_native",
      "sources": ["native/inroot.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "dbox-attach",
      "type": "executable",
      "sources": ["native/attach.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
