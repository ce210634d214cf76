# node-gyp build of the native provider (used by prebuildify, and by
# node-gyp-build when no prebuild fits). C++ exceptions as node-addon-api's
# except.gypi sets them (NAPI_CPP_EXCEPTIONS, _HAS_EXCEPTIONS=1: common.gypi
# says 0, which would make MSVC's STL disagree with /EHsc), and
# NODE_ADDON_API_CPP_EXCEPTIONS_ALL so a std::exception (bad_alloc,
# system_error from std::thread) becomes a JS Error instead of a crash. Windows only: on other platforms the
# target has no sources, and scripts/install.js never runs node-gyp there.
{
  "targets": [
    {
      "target_name": "winsock2",
      "conditions": [
        ["OS=='win'", {
          "sources": [
            "native/addon.cc",
            "native/address.cc",
            "native/connect.cc",
            "native/disconnect.cc",
            "native/errors.cc",
            "native/handoff.cc",
            "native/iocp.cc",
            "native/listener.cc",
            "native/protocols.cc",
            "native/qos.cc",
            "native/socket.cc"
          ],
          "include_dirs": [
            "<!(node -p \"require('node-addon-api').include_dir\")"
          ],
          # common.gypi defines _HAS_EXCEPTIONS=0: removed here rather than
          # overridden, so cl sees one definition (no D9025 override warning).
          "defines!": ["_HAS_EXCEPTIONS=0"],
          "defines": [
            "NAPI_VERSION=8",
            "NAPI_CPP_EXCEPTIONS",
            "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
            "_HAS_EXCEPTIONS=1",
            "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
            "NODE_ADDON_API_DISABLE_DEPRECATED",
            "_WIN32_WINNT=0x0A00",
            "WINVER=0x0A00",
            "UNICODE",
            "_UNICODE"
          ],
          "libraries": ["ws2_32.lib"],
          "msvs_settings": {
            "VCCLCompilerTool": {
              "ExceptionHandling": 1,
              "WarningLevel": 4,
              "WarnAsError": "true",
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
