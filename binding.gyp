{
  "targets": [
    {
      "target_name": "berth-native-tests",
      "type": "executable",
      "sources": [
        "native/tests/main.cc",
        "native/tests/resolve_test.cc",
        "native/tests/plan_codec_test.cc",
        "native/tests/shim_test.cc",
        "native/core/resolve.cc",
        "native/core/plan_codec.cc",
        "native/shim/config.cc",
        "native/shim/json.cc",
        "native/tests/oci_front_test.cc",
        "native/oci-front/flags.cc",
        "native/oci-front/native_state.cc",
        "native/oci-front/commands.cc",
        "native/oci-front/list.cc",
        "native/core/io.cc"
      ],
      "include_dirs": ["native"],
      "defines": ["_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O1", "-g", "-Wall", "-Wextra", "-Werror"]
    },
    {
      "target_name": "berth",
      "sources": [
        "native/core/spawn.cc",
        "native/core/child.cc",
        "native/core/child_hooks.cc",
        "native/core/resolve.cc",
        "native/core/cgroup.cc",
        "native/core/plan_codec.cc",
        "native/core/netns.cc",
        "native/core/seccomp.cc",
        "native/core/errors.cc",
        "native/core/io.cc",
        "native/core/sealed_exe.cc",
        "native/core/enter.cc",
        "native/addon/addon.cc",
        "native/addon/convert.cc",
        "native/addon/exit_watch.cc",
        "native/addon/remove_tree.cc",
        "native/addon/xattrs.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
    },
    {
      "target_name": "berth-bench",
      "sources": ["native/bench/addon.cc", "native/bench/bench_mount.cc", "native/addon/convert.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
    },
    {
      "target_name": "berth-shim",
      "type": "executable",
      "sources": [
        "native/core/spawn.cc",
        "native/core/child.cc",
        "native/core/child_hooks.cc",
        "native/core/resolve.cc",
        "native/core/cgroup.cc",
        "native/core/plan_codec.cc",
        "native/core/seccomp.cc",
        "native/core/errors.cc",
        "native/core/io.cc",
        "native/core/sealed_exe.cc",
        "native/shim/main.cc",
        "native/shim/config.cc",
        "native/shim/monitor.cc",
        "native/shim/log.cc",
        "native/shim/json.cc",
        "native/shim/state.cc",
        "native/shim/cleanup.cc"
      ],
      "include_dirs": ["native"],
      "defines": ["_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-Wno-missing-field-initializers",
                    "-ffunction-sections", "-fdata-sections"],
      "ldflags!": ["-rdynamic"],
      "ldflags": ["-static", "-Wl,--gc-sections"]
    },
    {
      "target_name": "berth-oci",
      "type": "executable",
      "sources": [
        "native/oci-front/main.cc",
        "native/oci-front/flags.cc",
        "native/oci-front/native_state.cc",
        "native/oci-front/commands.cc",
        "native/oci-front/list.cc",
        "native/core/io.cc"
      ],
      "include_dirs": ["native"],
      "defines": ["_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers",
                    "-ffunction-sections", "-fdata-sections"],
      "ldflags!": ["-rdynamic"],
      "ldflags": ["-static", "-Wl,--gc-sections"]
    },
    {
      "target_name": "berth-nsenter",
      "type": "executable",
      "sources": [
        "native/nsenter/main.cc",
        "native/core/child.cc",
        "native/core/child_hooks.cc",
        "native/core/spawn.cc",
        "native/core/resolve.cc",
        "native/core/cgroup.cc",
        "native/core/plan_codec.cc",
        "native/core/seccomp.cc",
        "native/core/errors.cc",
        "native/core/io.cc",
        "native/core/sealed_exe.cc"
      ],
      "include_dirs": ["native"],
      "defines": ["_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-Wno-missing-field-initializers",
                    "-ffunction-sections", "-fdata-sections"],
      "ldflags!": ["-rdynamic"],
      "ldflags": ["-static", "-Wl,--gc-sections"]
    },
    {
      "target_name": "berth-init",
      "type": "executable",
      "sources": ["native/init/init.c"],
      "cflags_c": ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror"],
      "ldflags!": ["-rdynamic"],
      "ldflags": ["-static"]
    }
  ]
}
