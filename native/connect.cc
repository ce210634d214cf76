// Connect without blocking the JS thread and without libuv's thread pool (a
// thousand pending connects must not delay fs calls). (On the 'libuv' data
// path a connect without connect data or QOS does not come here: libuv
// connects a SOCKET from openSocket(), native/handoff.cc.)
// - ConnectEx on the completion port (after a bind; then
//   SO_UPDATE_CONNECT_CONTEXT), whenever no connect data or QOS is involved:
//   fewer calls and no extra thread hop, which matters under Wine;
// - otherwise a non-blocking WSAConnect whose FD_CONNECT is waited for by the
//   Windows thread pool (RegisterWaitForSingleObject), which only queues an
//   event for JS.
// https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsaconnect
#include "common.h"

namespace ws2 {

namespace {

// 127.0.0.0/8 or ::1 (libuv: uv__is_loopback, which takes 127.0.0.1 only).
bool IsLoopback(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) != 0;
  }
  return false;
}

// Wait thread (Windows thread pool). The core outlives the wait: it is
// unregistered (blocking) before the core can go away.
void CALLBACK OnConnectSignalled(PVOID context, BOOLEAN /*timedOut*/) {
  auto* core = static_cast<SocketCore*>(context);
  try {
    Event e{EventKind::Connect, core->shared_from_this(), nullptr, nullptr, 0};  // error read in JS
    core->env->Push(std::move(e));
  } catch (const std::bad_alloc&) {
    // Out of memory on a thread-pool thread: the connect is not reported
    // (its timeout or abort still ends it); the process goes on.
    return;
  }
  core->env->Flush();
}

// JS thread.
// connect(owner, host, port, callerData: Buffer|null, sqos: Qos|null,
//         maxCalleeData, handOff: boolean): NativeSocket
// owner.onConnect(errno) runs when the connect completed (0) or failed.
// Throws a Winsock error when it fails at once, including the honest refusal:
// caller data (or QOS) for a provider that cannot carry it is WSAEOPNOTSUPP
// from 'WSAConnect' before anything is sent.
Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsString() || !info[2].IsNumber()) {
    NAPI_THROW(Napi::TypeError::New(env, "connect(owner, host, port, callerData, sqos, maxCalleeData)"), Napi::Value());
  }
  std::shared_ptr<EnvState> st = GetState(env);
  std::string host = info[1].As<Napi::String>().Utf8Value();
  int port = info[2].As<Napi::Number>().Int32Value();
  sockaddr_storage addr;
  int addrLen = 0;
  if (!ParseAddress(host, port, &addr, &addrLen)) ThrowWinsock(env, WSAEINVAL, "WSAConnect");
  bool withCallerData = info[3].IsBuffer() && info[3].As<Napi::Buffer<char>>().Length() > 0;
  bool withQos = info[4].IsObject();
  size_t maxCallee = info[5].IsNumber() ? info[5].As<Napi::Number>().Uint32Value() : 65536;
  // The 'libuv' data path: the SOCKET is given to Node's TCP handle once
  // connected (detach()), so it must never be on our completion port: no
  // ConnectEx (its completion needs the port), a non-blocking WSAConnect
  // waited for with FD_CONNECT instead.
  bool handOff = info[6].ToBoolean();

  SOCKET s = WSASocketW(addr.ss_family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, kSocketFlags);
  if (s == INVALID_SOCKET) ThrowWinsock(env, WSAGetLastError(), "WSASocketW");
  std::shared_ptr<SocketCore> core = NewSocketCore(st, s);
  core->handOff = handOff;
  Napi::Object obj = NativeSocket::Wrap(env, core);
  NativeSocket* wrap = NativeSocket::Unwrap(obj);
  auto fail = [&](int err, const char* fn) {
    core->Close(false);
    wrap->UpdateActive();
    ThrowWinsock(env, err, fn);
  };
  int err = 0;
  {
    ProtocolInfo protocol;
    if (!QueryProtocolCached(st.get(), s, addr.ss_family, &protocol, &err)) fail(err, "getsockopt(SO_PROTOCOL_INFOW)");
    core->protocol = std::make_shared<const ProtocolInfo>(std::move(protocol));
  }
  std::memcpy(&core->peer, &addr, sizeof(addr));
  core->peerLen = addrLen;
  bool carriesConnectData = (core->protocol->serviceFlags & XP1_CONNECT_DATA) != 0;
  if (withCallerData && !carriesConnectData) fail(WSAEOPNOTSUPP, "WSAConnect");
  if (withQos && (core->protocol->serviceFlags & XP1_QOS_SUPPORTED) == 0) fail(WSAEOPNOTSUPP, "WSAConnect");

  WSABUF callerBuf{0, nullptr};
  if (withCallerData) {
    Napi::Buffer<char> b = info[3].As<Napi::Buffer<char>>();
    callerBuf.len = static_cast<ULONG>(b.Length());
    callerBuf.buf = b.Data();  // WSAConnect copies it before returning
  }
  QOS sqos;
  std::vector<char> qosStorage;
  if (withQos) JsToQos(info[4], &sqos, &qosStorage);
  if (carriesConnectData) {
    core->calleeBuf.assign(maxCallee, 0);
    core->calleeWsabuf.len = static_cast<ULONG>(maxCallee);
    core->calleeWsabuf.buf = core->calleeBuf.data();
  }

  if (!handOff) {
    if (int e = st->Associate(s)) fail(e, "CreateIoCompletionPort");
    core->associated = true;
  }
  // As libuv does for loopback (src/win/tcp.c, uv__tcp_try_connect): no SYN
  // retransmissions, so a refused loopback connect fails at once instead of
  // after ~2 s of retries (each retry would also reach a listener under
  // SO_CONDITIONAL_ACCEPT as a new request). Best effort: Windows before 10
  // 1709, and Wine, refuse the ioctl; the connect then behaves as before.
  // libuv asks on every connect; a stack that refused it once refuses it
  // always, and under Wine each refusal is a wineserver round trip.
  if (IsLoopback(addr) && !st->initialRtoRefused.load(std::memory_order_relaxed)) {
    TCP_INITIAL_RTO_PARAMETERS rto{};
    rto.Rtt = TCP_INITIAL_RTO_NO_SYN_RETRANSMISSIONS;
    rto.MaxSynRetransmissions = TCP_INITIAL_RTO_NO_SYN_RETRANSMISSIONS;
    DWORD rtoBytes = 0;
    if (WSAIoctl(s, SIO_TCP_INITIAL_RTO, &rto, sizeof(rto), nullptr, 0, &rtoBytes, nullptr, nullptr) != 0) {
      int e = WSAGetLastError();
      if (e == WSAEOPNOTSUPP || e == WSAEINVAL) st->initialRtoRefused.store(true, std::memory_order_relaxed);
    }
  }
  // Nagle plus delayed ACK stalls write-write-read exchanges for 200 ms on
  // Windows; node's net (libuv) and the emulated provider set it too.
  // (A SOCKET for Node's TCP handle gets it from net: see handoff.cc.)
  if (!handOff) {
    if (int e = SetNoDelayOption(s, true)) fail(e, "setsockopt(TCP_NODELAY)");
  }
  if (!handOff && !withCallerData && !withQos && !carriesConnectData) {
    LPFN_CONNECTEX connectEx = nullptr;
    {
      std::lock_guard<std::mutex> lock(st->protoMu);
      connectEx = st->connectEx;
    }
    if (connectEx == nullptr) {
      GUID guid = WSAID_CONNECTEX;
      DWORD bytes = 0;
      if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid), &connectEx, sizeof(connectEx), &bytes,
                   nullptr, nullptr) != 0) {
        fail(WSAGetLastError(), "WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER)");
      }
      std::lock_guard<std::mutex> lock(st->protoMu);
      st->connectEx = connectEx;
    }
    sockaddr_storage any{};
    any.ss_family = addr.ss_family;
    int anyLen = static_cast<int>(addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    if (bind(s, reinterpret_cast<sockaddr*>(&any), anyLen) != 0) fail(WSAGetLastError(), "bind");
    // Non-blocking, as accepted sockets already are: the IOCP thread reads
    // waiting bytes with recv() (socket.cc, DrainLocked).
    u_long nonBlocking = 1;
    // FIONBIO is an unsigned constant above LONG_MAX; ioctlsocket takes a long.
    ioctlsocket(s, static_cast<long>(FIONBIO), &nonBlocking);
    core->connecting = true;
    wrap->SetOwner(info[0].As<Napi::Object>());
    auto op = std::make_unique<Op>(OpKind::Connect);
    op->core = core;
    st->outstandingOps++;
    if (!connectEx(s, reinterpret_cast<sockaddr*>(&addr), addrLen, nullptr, 0, nullptr, &op->ov)) {
      int e = WSAGetLastError();
      if (e != ERROR_IO_PENDING) {
        st->outstandingOps--;
        fail(e, "ConnectEx");
      }
    }
    op.release();  // the completion port owns it; the Connect event follows
    return obj;
  }
  core->connectEvent = CreateEventW(nullptr, FALSE, FALSE, nullptr);
  if (core->connectEvent == nullptr) fail(static_cast<int>(GetLastError()), "CreateEventW");
  if (WSAEventSelect(s, core->connectEvent, FD_CONNECT) != 0) fail(WSAGetLastError(), "WSAEventSelect");
  core->connecting = true;
  wrap->SetOwner(info[0].As<Napi::Object>());
  int r = WSAConnect(s, reinterpret_cast<sockaddr*>(&addr), addrLen, withCallerData ? &callerBuf : nullptr,
                     carriesConnectData ? &core->calleeWsabuf : nullptr, withQos ? &sqos : nullptr, nullptr);
  if (r != 0 && WSAGetLastError() != WSAEWOULDBLOCK) fail(WSAGetLastError(), "WSAConnect");
  if (!RegisterWaitForSingleObject(&core->connectWait, core->connectEvent, OnConnectSignalled, core.get(), INFINITE,
                                   WT_EXECUTEONLYONCE)) {
    fail(static_cast<int>(GetLastError()), "RegisterWaitForSingleObject");
  }
  return obj;
}

}  // namespace

// JS thread: the connect completed (ConnectEx: `error` from the completion;
// WSAConnect: FD_CONNECT's error code).
void NativeSocket::DeliverConnect(int error) {
  Napi::Env env = Env();
  bool closed;
  {
    std::lock_guard<std::mutex> lock(core->mu);
    closed = core->closed;
  }
  if (closed || !core->connecting) return;  // aborted or timed out meanwhile
  if (core->connectEvent != nullptr) {
    WSANETWORKEVENTS ne{};
    error = 0;
    if (WSAEnumNetworkEvents(core->s, core->connectEvent, &ne) != 0) {
      error = WSAGetLastError();
    } else if ((ne.lNetworkEvents & FD_CONNECT) != 0) {
      error = ne.iErrorCode[FD_CONNECT_BIT];
    }
  } else if (error == 0) {
    // ConnectEx leaves the socket without its connected state for the other
    // Winsock calls (getpeername, shutdown) until this. (Only the addon's
    // data path uses our ConnectEx; a SOCKET connected by libuv gets the
    // same call from libuv, and one handed over after WSAConnect needs none.)
    if (setsockopt(core->s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0) != 0) error = WSAGetLastError();
  }
  core->CancelConnectWait();  // also cancels WSAEventSelect
  if (error == 0 && core->calleeWsabuf.buf != nullptr && core->calleeWsabuf.len > 0 &&
      core->calleeWsabuf.len <= core->calleeBuf.size()) {
    core->hasCalleeData = true;
  }
  Napi::Value owner = owner_.Value();
  UpdateActive();
  if (!owner.IsObject()) return;
  Napi::Object o = owner.As<Napi::Object>();
  o.Get("onConnect").As<Napi::Function>().Call(o, {Napi::Number::New(env, error)});
}

void InitConnect(Napi::Env env, Napi::Object exports) {
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
}

}  // namespace ws2
