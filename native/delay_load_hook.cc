// mingw-w64 builds only (MSVC builds get node-gyp's / cmake-js's own hook).
// Node-API is imported from "NODE.EXE" through a delay-load import library;
// this hook answers with the host executable itself, so the addon loads in
// electron.exe or a renamed node.exe, not only in a file named node.exe.
// https://learn.microsoft.com/en-us/cpp/build/reference/notification-hooks
#ifdef __MINGW32__
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <delayimp.h>

#include <cstring>

namespace {

// Loader lock held (called by __delayLoadHelper2 on the first Node-API call).
FARPROC WINAPI LoadHook(unsigned event, PDelayLoadInfo info) {
  if (event != dliNotePreLoadLibrary) return nullptr;
  if (_stricmp(info->szDll, "NODE.EXE") != 0) return nullptr;
  return reinterpret_cast<FARPROC>(GetModuleHandleW(nullptr));
}

}  // namespace

// Declared ExternC by <delayimp.h>; mingw-w64's delayimp reads it.
PfnDliHook __pfnDliNotifyHook2 = LoadHook;
#endif
