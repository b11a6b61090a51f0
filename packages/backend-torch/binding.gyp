{
  # Built by scripts/build.mjs, which finds libtorch and passes its paths through SMN_TORCH_* environment variables.
  "targets": [
    {
      "target_name": "smn_torch",
      "sources": ["native/addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node -p \"process.env.SMN_TORCH_INCLUDES || ''\")"
      ],
      "defines": [
        "NAPI_CPP_EXCEPTIONS",
        "NAPI_VERSION=8",
        "_GLIBCXX_USE_CXX11_ABI=<!(node -p \"process.env.SMN_TORCH_ABI || '1'\")",
        "TORCH_VERSION_STR=\"<!(node -p \"process.env.SMN_TORCH_VERSION || 'unknown'\")\""
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=<!(node -p \"process.env.SMN_TORCH_STD || 'c++17'\")", "-fexceptions", "-frtti", "-O3", "-Wno-unused-parameter", "-Wno-unused-variable"],
      "ldflags": ["<!@(node -p \"process.env.SMN_TORCH_LDFLAGS || ''\")"],
      "libraries": ["<!@(node -p \"process.env.SMN_TORCH_LIBS || '-ltorch -ltorch_cpu -lc10'\")"]
    }
  ]
}
