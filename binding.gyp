# node-gyp build of the native provider (used by prebuildify, and by
# node-gyp-build when no prebuild fits). C++ exceptions as node-addon-api's
# except.gypi sets them (NAPI_CPP_EXCEPTIONS, _HAS_EXCEPTIONS=1: common.gypi
# says 0, which would make MSVC's STL disagree with /EHsc), and
# NODE_ADDON_API_CPP_EXCEPTIONS_ALL so a std::exception (bad_alloc,
# system_error from std::thread) becomes a JS Error instead of a crash. Windows only: on other platforms the
# target has no sources, and scripts/install.js never runs node-gyp there.
{
  "variables": {
    # Warnings are errors only in this project's own CI builds
    # (WINSOCK2_WERROR=1 in the workflows): a newer compiler on a user's
    # machine must not fail the source build the install falls back to.
    "winsock2_werror%": "<!(node -p \"process.env.WINSOCK2_WERROR === '1' ? 'true' : 'false'\")"
  },
  "targets": [
    {
      "target_name": "winsock2",
      "conditions": [
        ["OS=='win'", {
          # One list for every build: native/build.json (test/native-build.test.ts).
          "sources": ["<!@(node -p \"require('./native/build.json').sources.join(' ')\")"],
          "include_dirs": [
            "<!(node -p \"require('node-addon-api').include_dir\")"
          ],
          # common.gypi defines _HAS_EXCEPTIONS=0: removed here rather than
          # overridden, so cl sees one definition (no D9025 override warning).
          "defines!": ["_HAS_EXCEPTIONS=0"],
          # native/build.json's defines, plus what MSVC's STL needs with
          # exceptions on (node-addon-api's except.gypi).
          "defines": [
            "<!@(node -p \"require('./native/build.json').defines.join(' ')\")",
            "_HAS_EXCEPTIONS=1"
          ],
          "libraries": ["ws2_32.lib"],
          "msvs_settings": {
            "VCCLCompilerTool": {
              "ExceptionHandling": 1,
              "WarningLevel": 4,
              "WarnAsError": "<(winsock2_werror)",
              "AdditionalOptions": ["/std:c++17", "/utf-8", "/external:anglebrackets", "/external:W0"]
            }
          }
        }, {
          "sources": []
        }]
      ]
    }
  ]
}
