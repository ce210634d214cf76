// Socket addresses: numeric parsing (names are resolved in TypeScript, with
// dns.lookup, before they get here) and sockaddr -> { address, port, family }.
#include "common.h"

namespace ws2 {

// Any thread.
bool ParseAddress(const std::string& host, int port, sockaddr_storage* out, int* outLen) {
  std::memset(out, 0, sizeof(*out));
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<u_short>(port));
    *outLen = static_cast<int>(sizeof(sockaddr_in));
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<u_short>(port));
    *outLen = static_cast<int>(sizeof(sockaddr_in6));
    return true;
  }
  return false;
}

// JS thread. null for an address family other than IPv4/IPv6.
Napi::Value AddressToJs(Napi::Env env, const sockaddr* sa, int len) {
  char text[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  const char* family = nullptr;
  if (sa != nullptr && sa->sa_family == AF_INET && len >= static_cast<int>(sizeof(sockaddr_in))) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    port = ntohs(v4->sin_port);
    family = "IPv4";
  } else if (sa != nullptr && sa->sa_family == AF_INET6 && len >= static_cast<int>(sizeof(sockaddr_in6))) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    port = ntohs(v6->sin6_port);
    family = "IPv6";
  } else {
    return env.Null();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("address", Napi::String::New(env, text));
  o.Set("port", Napi::Number::New(env, port));
  o.Set("family", Napi::String::New(env, family));
  return o;
}

// JS thread. getsockname / getpeername; throws a Winsock error.
Napi::Value SockName(Napi::Env env, SOCKET s, bool peer) {
  sockaddr_storage ss{};
  int len = sizeof(ss);
  int r = peer ? getpeername(s, reinterpret_cast<sockaddr*>(&ss), &len)
               : getsockname(s, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r != 0) ThrowWinsock(env, WSAGetLastError(), peer ? "getpeername" : "getsockname");
  return AddressToJs(env, reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace ws2
