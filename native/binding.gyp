{
  "targets": [
    {
      "target_name": "sersync_inotify",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["inotify.c", "spawn.c", "errno-error.c"],
          "defines": ["NAPI_VERSION=8"],
          "cflags": ["-std=gnu11", "-Wall", "-Wextra"]
        }, {
          "type": "none"
        }]
      ]
    },
    {
      "target_name": "sersync-confine",
      "conditions": [
        ["OS=='linux'", {
          "type": "executable",
          "sources": ["confine.c", "shell.c"],
          "cflags": ["-std=gnu11", "-Wall", "-Wextra"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
