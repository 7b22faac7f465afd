{
  "targets": [
    {
      "target_name": "dbox_native",
      "sources": ["native/inroot.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
