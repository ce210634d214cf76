// SOCKETs given to Node's own TCP handle (the 'libuv' data path, see
// lib/native/handoff.ts): preparing one, a new one for libuv to connect,
// the calls TypeScript needs on a SOCKET it owns (closing one nobody took,
// WSASendDisconnect on one libuv owns), and a connected pair for the
// load-time self-test.
#include "common.h"

namespace ws2 {

// Windows handle values fit in 32 bits (they are shared with 32-bit
// processes); Node's TCPWrap::Open takes an int. A Number carries it.
Napi::Value SocketToJs(Napi::Env env, SOCKET s) { return Napi::Number::New(env, static_cast<double>(s)); }

bool SocketFromJs(const Napi::Value& v, SOCKET* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d > 0 && d < 4294967296.0) || d != static_cast<double>(static_cast<uint64_t>(d))) return false;
  *out = static_cast<SOCKET>(static_cast<uint64_t>(d));
  return *out != INVALID_SOCKET;
}

// Any thread.
int PrepareForHandOff(SOCKET s) {
  // Accepted sockets inherit the listener's WSAEventSelect; a connecting one
  // has its own FD_CONNECT selection (cancelled already). libuv reads with
  // overlapped I/O: no event may stay attached.
  if (WSAEventSelect(s, nullptr, 0) != 0) return WSAGetLastError();
  if (int err = MakeNonInheritable(s)) return err;
  // No TCP_NODELAY here: lib/native/handoff.ts sets it through net, whose
  // record of it must agree with the socket (net skips setNoDelay(false)
  // while it believes it already off).
  return 0;
}

namespace {

// closeSocket(socket, abortive): a SOCKET this process owns and nobody took
// (a hand-off that failed). Throws a Winsock error.
Napi::Value CloseSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SOCKET s;
  if (!SocketFromJs(info[0], &s)) ThrowWinsock(env, WSAENOTSOCK, "closesocket");
  if (info[1].ToBoolean()) {
    linger l{1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&l), sizeof(l));
  }
  if (closesocket(s) != 0) ThrowWinsock(env, WSAGetLastError(), "closesocket");
  return env.Undefined();
}

// openSocket(family: 4 | 6): a new TCP SOCKET (overlapped, non-inheritable,
// never on a completion port) for Node's TCP handle to connect: uv_tcp_open
// takes it unbound, then net's connect() runs libuv's own bind + ConnectEx
// + SO_UPDATE_CONNECT_CONTEXT on libuv's completion port. The SOCKET is
// still ours (for WSASendDisconnect) but the connect needs no thread of
// ours: for a connect without connect data or QOS (all TCP/IP can carry)
// it replaces WSAConnect + FD_CONNECT + a thread-pool wait, which under
// Wine cost a quarter of the connect rate. The caller owns it. Throws.
Napi::Value OpenSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  if (family != 4 && family != 6) NAPI_THROW(Napi::TypeError::New(env, "openSocket(4 | 6)"), Napi::Value());
  SOCKET s = WSASocketW(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, kSocketFlags);
  if (s == INVALID_SOCKET) ThrowWinsock(env, WSAGetLastError(), "WSASocketW");
  return SocketToJs(env, s);
}

// sendDisconnectSocket(socket): WSASendDisconnect with no data on a SOCKET
// Node's TCP handle owns (the caller checks the handle is open: a closed
// SOCKET's value may name another socket). TCP/IP carries no disconnect
// data, so none is taken. Throws a Winsock error.
Napi::Value SendDisconnectSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SOCKET s;
  if (!SocketFromJs(info[0], &s)) ThrowWinsock(env, WSAENOTSOCK, "WSASendDisconnect");
  if (WSASendDisconnect(s, nullptr) != 0) ThrowWinsock(env, WSAGetLastError(), "WSASendDisconnect");
  return env.Undefined();
}

// socketOptions(socket): { noDelay, keepAlive } read back with getsockopt
// on a SOCKET Node's TCP handle owns (tests and diagnostics; the caller
// checks the handle is open). Throws a Winsock error.
Napi::Value SocketOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SOCKET s;
  if (!SocketFromJs(info[0], &s)) ThrowWinsock(env, WSAENOTSOCK, "getsockopt");
  BOOL noDelay = FALSE;
  BOOL keepAlive = FALSE;
  int len = sizeof(noDelay);
  if (getsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<char*>(&noDelay), &len) != 0) {
    ThrowWinsock(env, WSAGetLastError(), "getsockopt(TCP_NODELAY)");
  }
  len = sizeof(keepAlive);
  if (getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, reinterpret_cast<char*>(&keepAlive), &len) != 0) {
    ThrowWinsock(env, WSAGetLastError(), "getsockopt(SO_KEEPALIVE)");
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("noDelay", Napi::Boolean::New(env, noDelay != FALSE));
  o.Set("keepAlive", Napi::Boolean::New(env, keepAlive != FALSE));
  return o;
}

// socketPair(): [a, b, port], two SOCKETs connected over 127.0.0.1 (overlapped,
// never associated with a completion port, like every socket handed over),
// for the self-test at load. Blocking, on the JS thread: a loopback connect
// to a listening socket completes from the backlog at once. The caller owns
// both. Throws a Winsock error.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SOCKET l = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, kSocketFlags);
  if (l == INVALID_SOCKET) ThrowWinsock(env, WSAGetLastError(), "WSASocketW");
  SOCKET a = INVALID_SOCKET;
  SOCKET b = INVALID_SOCKET;
  const char* step = "bind";
  int err = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int len = sizeof(addr);
  if (bind(l, reinterpret_cast<sockaddr*>(&addr), len) != 0 || (step = "listen", listen(l, 1)) != 0 ||
      (step = "getsockname", getsockname(l, reinterpret_cast<sockaddr*>(&addr), &len)) != 0) {
    err = WSAGetLastError();
  }
  if (err == 0) {
    step = "WSASocketW";
    a = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, kSocketFlags);
    if (a == INVALID_SOCKET) err = WSAGetLastError();
  }
  if (err == 0) {
    step = "connect";
    if (connect(a, reinterpret_cast<sockaddr*>(&addr), len) != 0) err = WSAGetLastError();
  }
  if (err == 0) {
    step = "accept";
    b = accept(l, nullptr, nullptr);
    if (b == INVALID_SOCKET) err = WSAGetLastError();
  }
  closesocket(l);
  if (err == 0 && (err = PrepareForHandOff(a)) != 0) step = "PrepareForHandOff";
  if (err == 0 && (err = PrepareForHandOff(b)) != 0) step = "PrepareForHandOff";
  if (err != 0) {
    if (a != INVALID_SOCKET) closesocket(a);
    if (b != INVALID_SOCKET) closesocket(b);
    ThrowWinsock(env, err, step);
  }
  Napi::Array pair = Napi::Array::New(env, 3);
  pair.Set(0u, SocketToJs(env, a));
  pair.Set(1u, SocketToJs(env, b));
  pair.Set(2u, Napi::Number::New(env, ntohs(addr.sin_port)));  // a's peer, b's own port
  return pair;
}

}  // namespace

void InitHandOff(Napi::Env env, Napi::Object exports) {
  exports.Set("openSocket", Napi::Function::New(env, OpenSocket, "openSocket"));
  exports.Set("closeSocket", Napi::Function::New(env, CloseSocket, "closeSocket"));
  exports.Set("sendDisconnectSocket", Napi::Function::New(env, SendDisconnectSocket, "sendDisconnectSocket"));
  exports.Set("socketPair", Napi::Function::New(env, SocketPair, "socketPair"));
  exports.Set("socketOptions", Napi::Function::New(env, SocketOptions, "socketOptions"));
}

}  // namespace ws2
