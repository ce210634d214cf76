// Protocol enumeration: WSAEnumProtocolsW and SO_PROTOCOL_INFOW, reported raw
// (lib/service-flags.ts decodes the XP1_* flags), plus wineVersion() so tests
// can tell Wine's ws2_32 from the real one.
#include "common.h"

namespace ws2 {

// Any thread.
bool QueryProtocol(SOCKET s, ProtocolInfo* out, int* error) {
  WSAPROTOCOL_INFOW info{};
  int len = sizeof(info);
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &len) != 0) {
    *error = WSAGetLastError();
    return false;
  }
  out->name = std::u16string(reinterpret_cast<const char16_t*>(info.szProtocol));
  out->addressFamily = info.iAddressFamily;
  out->socketType = info.iSocketType;
  out->protocol = info.iProtocol;
  out->serviceFlags = info.dwServiceFlags1;
  return true;
}

// Any thread.
bool QueryProtocolCached(EnvState* st, SOCKET s, int family, ProtocolInfo* out, int* error) {
  {
    std::lock_guard<std::mutex> lock(st->protoMu);
    auto it = st->protoCache.find(family);
    if (it != st->protoCache.end()) {
      *out = it->second;
      return true;
    }
  }
  if (!QueryProtocol(s, out, error)) return false;
  std::lock_guard<std::mutex> lock(st->protoMu);
  st->protoCache[family] = *out;
  return true;
}

// JS thread. The shape of RawProtocolEntry in lib/service-flags.ts.
Napi::Object ProtocolToJs(Napi::Env env, const ProtocolInfo& info) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", Napi::String::New(env, info.name));
  o.Set("addressFamily", Napi::Number::New(env, info.addressFamily));
  o.Set("socketType", Napi::Number::New(env, info.socketType));
  o.Set("protocol", Napi::Number::New(env, info.protocol));
  o.Set("serviceFlags", Napi::Number::New(env, static_cast<double>(info.serviceFlags)));
  return o;
}

// JS thread. enumerateProtocols(): RawProtocolEntry[]
static Napi::Value EnumerateProtocols(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DWORD len = 0;
  int n = WSAEnumProtocolsW(nullptr, nullptr, &len);
  std::vector<char> buf;
  for (int attempt = 0; n == SOCKET_ERROR && attempt < 3; ++attempt) {
    int err = WSAGetLastError();
    if (err != WSAENOBUFS) ThrowWinsock(env, err, "WSAEnumProtocolsW");
    buf.assign(len, 0);
    n = WSAEnumProtocolsW(nullptr, reinterpret_cast<WSAPROTOCOL_INFOW*>(buf.data()), &len);
  }
  if (n == SOCKET_ERROR) ThrowWinsock(env, WSAGetLastError(), "WSAEnumProtocolsW");
  Napi::Array out = Napi::Array::New(env, static_cast<size_t>(n));
  const auto* entries = reinterpret_cast<const WSAPROTOCOL_INFOW*>(buf.data());
  for (int i = 0; i < n; ++i) {
    ProtocolInfo p;
    p.name = std::u16string(reinterpret_cast<const char16_t*>(entries[i].szProtocol));
    p.addressFamily = entries[i].iAddressFamily;
    p.socketType = entries[i].iSocketType;
    p.protocol = entries[i].iProtocol;
    p.serviceFlags = entries[i].dwServiceFlags1;
    out.Set(static_cast<uint32_t>(i), ProtocolToJs(env, p));
  }
  return out;
}

// JS thread. wineVersion(): string | null — ntdll's wine_get_version, which
// exists only under Wine (null on real Windows).
static Napi::Value WineVersion(const Napi::CallbackInfo& info) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (ntdll == nullptr) return info.Env().Null();
  FARPROC proc = GetProcAddress(ntdll, "wine_get_version");
  if (proc == nullptr) return info.Env().Null();
  using WineGetVersion = const char*(__cdecl*)();
  auto fn = reinterpret_cast<WineGetVersion>(reinterpret_cast<void*>(proc));
  const char* v = fn();
  return v == nullptr ? info.Env().Null() : Napi::String::New(info.Env(), v);
}

void InitProtocols(Napi::Env env, Napi::Object exports) {
  exports.Set("enumerateProtocols", Napi::Function::New(env, EnumerateProtocols, "enumerateProtocols"));
  exports.Set("wineVersion", Napi::Function::New(env, WineVersion, "wineVersion"));
}

}  // namespace ws2
