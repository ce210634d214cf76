// Listener and WSAAccept with a JavaScript condition function.
// https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsaaccept
// https://learn.microsoft.com/en-us/windows/win32/winsock/so-conditional-accept
//
// FD_ACCEPT (WSAEventSelect) is waited for by one waiter thread per
// listener, which wakes JS through the thread-safe function; JS then calls accept(), which
// runs WSAAccept ON THE JS THREAD, so the condition function is an ordinary
// synchronous call into JavaScript. The TS layer (lib/native/listener.ts)
// loops accept() until WSAEWOULDBLOCK and owns the CF_DEFER bookkeeping.
#include "common.h"

namespace ws2 {

namespace {

// A watchdog that bounds any missed FD_ACCEPT signal to this delay: the
// waiter polls the listening socket this often and wakes JS only when a
// request is waiting (an idle listener costs a poll, not a JS wake-up).
constexpr DWORD kAcceptWatchdogMs = 250;

// Waiter thread: a connection request waits on the listening socket
// (a listening socket polls readable then; it stays open while the waiter
// runs: Close() joins the waiter first).
bool AcceptPending(SOCKET s) {
  WSAPOLLFD p{};
  p.fd = s;
  p.events = POLLRDNORM;
  return WSAPoll(&p, 1, 0) > 0 && (p.revents & POLLRDNORM) != 0;
}

// Waiter thread. One wake-up is queued at a time.

void CALLBACK OnAcceptSignalled(PVOID context, BOOLEAN timedOut) {
  auto* core = static_cast<ListenerCore*>(context);
  if (timedOut) core->watchdogWakes++;
  core->env->statAcceptWakes++;
  if (core->wakePosted.exchange(true)) return;
  core->env->statAcceptPosted++;
  try {
    Event e{EventKind::Acceptable, nullptr, core->shared_from_this(), nullptr, 0};
    core->env->Push(std::move(e));
  } catch (const std::bad_alloc&) {
    // Out of memory on this thread: no wake-up now; the watchdog tries
    // again (an exception leaving the thread would terminate the process).
    core->wakePosted = false;
    return;
  }
  core->env->Flush();
  core->env->statAcceptWakesDone++;
}

// State shared with the condition function during one WSAAccept call.
struct ConditionContext {
  Napi::Env env;
  Napi::Function condition;
  bool connectData;  // XP1_CONNECT_DATA: only then are lpCallerData/lpCalleeData meaningful
  bool threw = false;
  napi_value exception = nullptr;
  bool called = false;
};

// JS thread (WSAAccept calls it synchronously). Must not throw through
// ws2_32's frames: every exception is caught and re-thrown after WSAAccept.
int CALLBACK ConditionProc(LPWSABUF lpCallerId, LPWSABUF lpCallerData, LPQOS lpSQOS, LPQOS /*lpGQOS*/,
                           LPWSABUF lpCalleeId, LPWSABUF lpCalleeData, GROUP* g, DWORD_PTR dwCallbackData) {
  auto* ctx = reinterpret_cast<ConditionContext*>(dwCallbackData);
  ctx->called = true;
  try {
    Napi::Env env = ctx->env;
    Napi::HandleScope scope(env);
    Napi::Object req = Napi::Object::New(env);
    req.Set("callerId", lpCallerId ? AddressToJs(env, reinterpret_cast<sockaddr*>(lpCallerId->buf),
                                                 static_cast<int>(lpCallerId->len))
                                   : env.Null());
    req.Set("calleeId", lpCalleeId ? AddressToJs(env, reinterpret_cast<sockaddr*>(lpCalleeId->buf),
                                                 static_cast<int>(lpCalleeId->len))
                                   : env.Null());
    // Wine passes {NULL, 0}; Windows "NULL if none". Only a provider with
    // XP1_CONNECT_DATA can have any.
    if (ctx->connectData && lpCallerData && lpCallerData->buf && lpCallerData->len > 0 && lpCallerData->len <= 65536) {
      req.Set("callerData", Napi::Buffer<char>::Copy(env, lpCallerData->buf, lpCallerData->len));
    } else {
      req.Set("callerData", env.Null());
    }
    req.Set("sqos", QosToJs(env, lpSQOS));
    req.Set("gqos", env.Null());  // reserved
    Napi::Value r = ctx->condition.Call({req});
    int verdict = CF_REJECT;
    Napi::Value calleeData;
    if (r.IsNumber()) {
      verdict = r.As<Napi::Number>().Int32Value();
    } else if (r.IsObject()) {
      Napi::Object o = r.As<Napi::Object>();
      Napi::Value v = o.Get("verdict");
      if (v.IsNumber()) verdict = v.As<Napi::Number>().Int32Value();
      calleeData = o.Get("calleeData");
    }
    // An invalid verdict leaks the connection under Wine: never return one.
    if (verdict != CF_ACCEPT && verdict != CF_REJECT && verdict != CF_DEFER) verdict = CF_REJECT;
    // Under Wine lpCalleeData is an uninitialised WSABUF: write callee data
    // only where the provider advertises XP1_CONNECT_DATA.
    if (verdict == CF_ACCEPT && ctx->connectData && lpCalleeData && lpCalleeData->buf && !calleeData.IsEmpty() &&
        calleeData.IsBuffer()) {
      Napi::Buffer<char> b = calleeData.As<Napi::Buffer<char>>();
      ULONG n = static_cast<ULONG>(std::min<size_t>(b.Length(), lpCalleeData->len));
      std::memcpy(lpCalleeData->buf, b.Data(), n);
      lpCalleeData->len = n;
    } else if (ctx->connectData && lpCalleeData) {
      lpCalleeData->len = 0;
    }
    if (g) *g = 0;
    return verdict;
  } catch (const Napi::Error& e) {
    ctx->threw = true;
    ctx->exception = e.Value();
  } catch (...) {
    ctx->threw = true;
  }
  return CF_REJECT;
}

// JS thread.
// listen(host, port, backlog, conditional): NativeListener. Throws.
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
    NAPI_THROW(Napi::TypeError::New(env, "listen(host, port, backlog, conditional)"), Napi::Value());
  }
  std::shared_ptr<EnvState> st = GetState(env);
  std::string host = info[0].As<Napi::String>().Utf8Value();
  int port = info[1].As<Napi::Number>().Int32Value();
  // A backlog beyond int is capped at SOMAXCONN (0x7fffffff: "a reasonable
  // maximum"), never wrapped to a small or negative int; listen caps it further.
  int64_t requested = info[2].As<Napi::Number>().Int64Value();
  int backlog = requested > SOMAXCONN ? SOMAXCONN : static_cast<int>(requested);
  bool conditional = info[3].ToBoolean();
  sockaddr_storage addr;
  int addrLen = 0;
  if (!ParseAddress(host, port, &addr, &addrLen)) ThrowWinsock(env, WSAEINVAL, "bind");

  SOCKET s = WSASocketW(addr.ss_family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, kSocketFlags);
  if (s == INVALID_SOCKET) ThrowWinsock(env, WSAGetLastError(), "WSASocketW");
  auto core = std::make_shared<ListenerCore>();
  core->env = st;
  core->s = s;
  st->handles++;
  {
    std::lock_guard<std::mutex> lock(st->regMu);
    st->listeners[core.get()] = core;
  }
  auto fail = [&](int err, const char* fn) {
    core->Close();
    ThrowWinsock(env, err, fn);
  };
  int err = 0;
  {
    ProtocolInfo protocol;
    if (!QueryProtocol(s, &protocol, &err)) fail(err, "getsockopt(SO_PROTOCOL_INFOW)");
    core->protocol = std::make_shared<const ProtocolInfo>(std::move(protocol));
  }
  // No SO_EXCLUSIVEADDRUSE, like libuv (src/win/tcp.c): with it, binding
  // the port again fails with WSAEADDRINUSE while connections of the old
  // listener linger in TIME_WAIT, i.e. a restarted server cannot listen for
  // minutes. Without it another socket still cannot bind the same address
  // and port unless it asks for SO_REUSEADDR.
  BOOL on = TRUE;
  if (addr.ss_family == AF_INET6) {
    // Dual-stack, as libuv's uv__tcp_try_bind (src/win/tcp.c) without
    // UV_TCP_IPV6ONLY: `::` also takes IPv4 callers (as ::ffff:a.b.c.d), so
    // a listen with no host serves both, as net's. Errors are ignored as
    // libuv ignores them (no IPv4 stack: the socket is IPv6-only anyway).
    DWORD v6only = 0;
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, reinterpret_cast<const char*>(&v6only), sizeof(v6only));
  }
  if (bind(s, reinterpret_cast<sockaddr*>(&addr), addrLen) != 0) fail(WSAGetLastError(), "bind");
  if (conditional) {
    // Before listen (after it Windows answers WSAEINVAL). Wine answers
    // WSAENOPROTOOPT and completes every handshake before the condition runs.
    core->conditionalAccept =
        setsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, reinterpret_cast<const char*>(&on), sizeof(on)) == 0;
  }
  if (listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0) fail(WSAGetLastError(), "listen");
  core->event = CreateEventW(nullptr, FALSE, FALSE, nullptr);
  if (core->event == nullptr) fail(static_cast<int>(GetLastError()), "CreateEventW");
  if (WSAEventSelect(s, core->event, FD_ACCEPT) != 0) fail(WSAGetLastError(), "WSAEventSelect");

  Napi::Object obj = ListenerConstructor(env).New({ConstructToken(env)});
  NativeListener* wrap = NativeListener::Unwrap(obj);
  wrap->core = core;
  core->wrap = wrap;
  return obj;
}

}  // namespace

// JS thread. Idempotent. Inside a condition function (WSAAccept on the
// stack, which still uses the listening socket after the condition
// returns) the socket is closed when WSAAccept has returned (Accept()).
void ListenerCore::Close() {
  if (closed) return;
  closed = true;
  if (waiter.joinable()) {
    SetEvent(stopEvent);
    waiter.join();
  }
  if (stopEvent != nullptr) {
    CloseHandle(stopEvent);
    stopEvent = nullptr;
  }
  if (acceptDepth > 0) {
    closePending = true;
    return;
  }
  CloseSocket();
}

// JS thread.
void ListenerCore::CloseSocket() {
  closePending = false;
  WSAEventSelect(s, nullptr, 0);
  closesocket(s);
  // A held accept still running ends now that its socket is closed (its
  // WSAAccept fails); its event then finds the listener closed.
  if (acceptor.joinable()) acceptor.join();
  SOCKET held = INVALID_SOCKET;
  int heldErr = 0;
  if (TakeHeld(&held, &heldErr) && held != INVALID_SOCKET) {
    // Accepted after JS closed the listener and never delivered: reset, as
    // DeliverHeld resets a socket accepted for a closed listener.
    linger l{1, 0};
    setsockopt(held, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&l), sizeof(l));
    closesocket(held);
  }
  if (event != nullptr) {
    CloseHandle(event);
    event = nullptr;
  }
  env->handles--;
  std::lock_guard<std::mutex> lock(env->regMu);
  env->listeners.erase(this);
}

Napi::Function NativeListener::Define(Napi::Env env) {
  return DefineClass(env, "NativeListener",
                     {
                         InstanceMethod<&NativeListener::Start>("start"),
                         InstanceMethod<&NativeListener::Accept>("accept"),
                         InstanceMethod<&NativeListener::AcceptHeld>("acceptHeld"),
                         InstanceMethod<&NativeListener::Close>("close"),
                         InstanceMethod<&NativeListener::Ref>("ref"),
                         InstanceMethod<&NativeListener::Unref>("unref"),
                         InstanceMethod<&NativeListener::Address>("address"),
                         InstanceMethod<&NativeListener::Protocol>("protocol"),
                         InstanceMethod<&NativeListener::ConditionalAccept>("conditionalAccept"),
                     });
}

// JS thread. Reachable from JS (obj.constructor): only Listen() may construct.
NativeListener::NativeListener(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeListener>(info) {
  if (!IsConstructToken(info[0])) {
    throw Napi::TypeError::New(info.Env(), "NativeListener cannot be constructed from JavaScript");
  }
}

// JS thread. A listener is not collected while open (its owner is held
// strongly until close), so this runs after close or at teardown.
NativeListener::~NativeListener() {
  if (!core) return;
  core->wrap = nullptr;
  if (keeping_ && !core->env->tornDown) core->env->Release();
  core->Close();
}

// JS thread.
void NativeListener::UpdateActive() {
  bool keep = !core->closed && started_ && userRef_;
  if (keep != keeping_) {
    if (keep)
      core->env->AddRef();
    else
      core->env->Release();
    keeping_ = keep;
  }
  if (core->closed && !owner_.IsEmpty()) owner_.Reset();
}

// JS thread: FD_ACCEPT reached JS.
void NativeListener::DeliverAcceptable() {
  core->wakePosted = false;
  core->env->statAcceptDelivered++;
  DeliverHeld();  // a held accept whose own event was lost (out of memory)
  if (core->closed || owner_.IsEmpty()) return;
  Napi::Object o = owner_.Value();
  o.Get("onAcceptable").As<Napi::Function>().Call(o, {});
}

// JS thread. start(owner): owner.onAcceptable() runs whenever a request may
// be pending. One wake-up is queued at once, for requests that arrived
// before start().
Napi::Value NativeListener::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) NAPI_THROW(Napi::TypeError::New(env, "start(owner)"), Napi::Value());
  if (core->closed) ThrowWinsock(env, WSAENOTSOCK, "WSAEventSelect");
  if (started_) return env.Undefined();
  owner_ = Napi::Persistent(info[0].As<Napi::Object>());
  // A thread of our own, not RegisterWaitForSingleObject: under Wine 8 a
  // thread-pool wait on this event stopped calling back under load (even its
  // timeouts), the kernel backlog filled up and connects timed out.
  core->stopEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (core->stopEvent == nullptr) ThrowWinsock(env, static_cast<int>(GetLastError()), "CreateEventW");
  ListenerCore* raw = core.get();  // outlives the thread: Close() joins it
  core->waiter = std::thread([raw] {
    HANDLE handles[2] = {raw->event, raw->stopEvent};
    for (;;) {
      DWORD r = WaitForMultipleObjects(2, handles, FALSE, kAcceptWatchdogMs);
      if (r == WAIT_OBJECT_0 + 1 || r == WAIT_FAILED) return;
      // The watchdog wakes JS only for a request that is really waiting
      // (not for an idle listener, not for the deferred head): an idle
      // server, ref'd or not, costs JS no wake-ups.
      // A held accept's result that JS has not taken (its event could not be
      // queued) wakes it too.
      if (r == WAIT_TIMEOUT && !raw->heldReady && (raw->deferredHead || !AcceptPending(raw->s))) continue;
      OnAcceptSignalled(raw, r == WAIT_TIMEOUT);
    }
  });
  started_ = true;
  UpdateActive();
  OnAcceptSignalled(core.get(), FALSE);
  return env.Undefined();
}

// JS thread. Makes a socket WSAAccept returned ready for the data path and
// wraps it: the NativeSocket, or a Winsock error number after resetting it.
// With `handOff` (the 'libuv' data path) it is { socket: SOCKET } instead:
// the caller owns that SOCKET, never on our completion port, and hands it
// to Node's TCP handle or closes it with closeSocket().
static Napi::Value AdoptAccepted(Napi::Env env, ListenerCore* core, SOCKET s, const sockaddr_storage* peer, int len,
                                 bool handOff) {
  if (handOff) {
    // libuv associates the SOCKET with its own port; one already associated
    // would put libuv in its slow emulated-IOCP mode. A WSAAccept socket
    // needs no SO_UPDATE_ACCEPT_CONTEXT: that option is for AcceptEx
    // sockets, which are created unconnected and learn the listener's
    // properties only from it; WSAAccept, like accept(), returns a socket
    // already in its connected state (getpeername, shutdown and setsockopt
    // work at once, which libuv's uv_tcp_open checks).
    int prepError = PrepareForHandOff(s);
    if (prepError != 0) {
      linger l{1, 0};
      setsockopt(s, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&l), sizeof(l));
      closesocket(s);
      return Napi::Number::New(env, prepError == WSAENOTSOCK ? WSAENOBUFS : prepError);
    }
    Napi::Object given = Napi::Object::New(env);
    given.Set("socket", SocketToJs(env, s));
    return given;
  }
  sockaddr_storage addr = *peer;
  // The accepted socket inherits the listener's WSAEventSelect (and so its
  // non-blocking mode): cancel it; the data path is overlapped I/O.
  // It stays non-blocking, which the IOCP thread's recv() drain relies on
  // (socket.cc, DrainLocked): set explicitly rather than trusted.
  WSAEventSelect(s, nullptr, 0);
  u_long nonBlocking = 1;
  // FIONBIO is an unsigned constant above LONG_MAX; ioctlsocket takes a long.
  ioctlsocket(s, static_cast<long>(FIONBIO), &nonBlocking);
  // Not inherited by child processes, and TCP_NODELAY (see connect.cc), as
  // libuv does for every accepted socket. A socket the completion port
  // refused would never complete a read: reset it and report.
  int setupError = MakeNonInheritable(s);
  if (setupError == 0) setupError = core->env->Associate(s);
  if (setupError != 0) {
    linger l{1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&l), sizeof(l));
    closesocket(s);
    // Out of resources for this connection; the listener keeps serving.
    return Napi::Number::New(env, WSAENOBUFS);
  }
  SetNoDelayOption(s, true);  // best effort: a failure leaves Nagle on
  std::shared_ptr<SocketCore> sc = NewSocketCore(core->env, s);
  sc->associated = true;
  // An accepted socket has the listening socket's properties (WSAAccept docs):
  // the same provider, so the same flags.
  sc->protocol = core->protocol;
  if (len > 0 && len <= static_cast<int>(sizeof(addr))) {
    std::memcpy(&sc->peer, &addr, sizeof(addr));
    sc->peerLen = len;
  }
  return NativeSocket::Wrap(env, sc);
}

// JS thread. accept(condition, handOff): NativeSocket | { socket } | number.
// Runs WSAAccept once; returns the accepted socket (see AdoptAccepted for
// handOff), or the Winsock error number (WSAEWOULDBLOCK:
// nothing pending; WSATRY_AGAIN: deferred; WSAECONNREFUSED: rejected;
// WSAECONNRESET / WSAEACCES: the caller withdrew). condition(request) returns
// CF_ACCEPT/CF_REJECT/CF_DEFER (0/1/2) or { verdict, calleeData }. An
// exception thrown by it rejects the request and is re-thrown here.
Napi::Value NativeListener::Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) NAPI_THROW(Napi::TypeError::New(env, "accept(condition, handOff)"), Napi::Value());
  bool handOff = info[1].ToBoolean();
  if (core->closed) return Napi::Number::New(env, WSAENOTSOCK);
  // Called again from inside the condition function (e.g. close() refusing
  // the queue): WSAAccept is not re-entrant on one socket.
  if (core->acceptDepth > 0) return Napi::Number::New(env, WSAEINPROGRESS);
  ConditionContext ctx{env, info[0].As<Napi::Function>(), (core->protocol->serviceFlags & XP1_CONNECT_DATA) != 0};
  sockaddr_storage addr{};
  int len = sizeof(addr);
  core->deferredHead = false;
  core->acceptDepth++;
  SOCKET s =
      WSAAccept(core->s, reinterpret_cast<sockaddr*>(&addr), &len, ConditionProc, reinterpret_cast<DWORD_PTR>(&ctx));
  int err = s == INVALID_SOCKET ? WSAGetLastError() : 0;
  core->acceptDepth--;
  if (err == WSATRY_AGAIN) core->deferredHead = true;
  if (core->closePending) {
    // close() ran inside the condition function: finish it now that
    // WSAAccept is off the stack. What it accepted is reset, as close()
    // does to every request still queued.
    if (s != INVALID_SOCKET) {
      linger l{1, 0};
      setsockopt(s, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&l), sizeof(l));
      closesocket(s);
      s = INVALID_SOCKET;
      err = WSAENOTSOCK;
    }
    core->CloseSocket();
  }
  if (ctx.threw) {
    if (s != INVALID_SOCKET) closesocket(s);
    if (ctx.exception != nullptr) throw Napi::Error(env, ctx.exception);
    NAPI_THROW(Napi::Error::New(env, "the condition function failed"), Napi::Value());
  }
  if (s == INVALID_SOCKET) return Napi::Number::New(env, err);
  return AdoptAccepted(env, core.get(), s, &addr, len, handOff);
}

namespace {

// The held accept's condition function, on the acceptor thread: CF_ACCEPT
// for the caller JS decided to accept (the deferred head), CF_DEFER for any
// other (that caller left and another one is at the head: JS is told
// WSATRY_AGAIN and offers the new head itself). No JS runs here.
struct HeldAccept {
  sockaddr_storage caller{};
  bool matched = false;
};

int CALLBACK HeldAcceptCondition(LPWSABUF lpCallerId, LPWSABUF, LPQOS, LPQOS, LPWSABUF, LPWSABUF lpCalleeData, GROUP* g,
                                 DWORD_PTR dwCallbackData) {
  auto* held = reinterpret_cast<HeldAccept*>(dwCallbackData);
  if (g) *g = 0;
  if (lpCalleeData) lpCalleeData->len = 0;  // never written: TCP/IP has no XP1_CONNECT_DATA
  if (lpCallerId == nullptr || lpCallerId->buf == nullptr) return CF_DEFER;
  const auto* sa = reinterpret_cast<const sockaddr*>(lpCallerId->buf);
  if (sa->sa_family != held->caller.ss_family) return CF_DEFER;
  bool same = false;
  if (sa->sa_family == AF_INET && lpCallerId->len >= sizeof(sockaddr_in)) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&held->caller);
    same = a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  } else if (sa->sa_family == AF_INET6 && lpCallerId->len >= sizeof(sockaddr_in6)) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&held->caller);
    same = a->sin6_port == b->sin6_port && std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
  }
  held->matched = same;
  return same ? CF_ACCEPT : CF_DEFER;
}

}  // namespace

// JS thread. acceptHeld(callerId): the deferred head's caller was accepted
// by the condition function; WSAAccept answers CF_ACCEPT for it on a thread
// of its own, because under SO_CONDITIONAL_ACCEPT that call can wait for
// the TCP handshake (docs/windows.md). owner.onAcceptHeld(socket | errno)
// follows on the JS thread. Throws a Winsock error.
Napi::Value NativeListener::AcceptHeld(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) NAPI_THROW(Napi::TypeError::New(env, "acceptHeld(callerId, handOff)"), Napi::Value());
  if (core->closed) ThrowWinsock(env, WSAENOTSOCK, "WSAAccept");
  if (core->acceptInFlight || core->acceptDepth > 0) ThrowWinsock(env, WSAEINPROGRESS, "WSAAccept");
  Napi::Object id = info[0].As<Napi::Object>();
  auto held = std::make_shared<HeldAccept>();
  int len = 0;
  if (!id.Get("address").IsString() || !id.Get("port").IsNumber() ||
      !ParseAddress(id.Get("address").As<Napi::String>().Utf8Value(), id.Get("port").As<Napi::Number>().Int32Value(),
                    &held->caller, &len)) {
    ThrowWinsock(env, WSAEINVAL, "WSAAccept");
  }
  if (core->acceptor.joinable()) core->acceptor.join();  // the previous one has delivered
  core->acceptInFlight = true;
  core->heldHandOff = info[1].ToBoolean();
  core->deferredHead = true;  // the watchdog leaves the head to the acceptor
  std::shared_ptr<ListenerCore> keep = core;
  core->acceptor = std::thread([keep, held] {
    sockaddr_storage addr{};
    int addrLen = sizeof(addr);
    SOCKET s = WSAAccept(keep->s, reinterpret_cast<sockaddr*>(&addr), &addrLen, HeldAcceptCondition,
                         reinterpret_cast<DWORD_PTR>(held.get()));
    keep->heldError = s == INVALID_SOCKET ? WSAGetLastError() : 0;
    keep->heldSocket = s;
    keep->heldReady.store(true, std::memory_order_release);
    try {
      keep->env->Push(Event{EventKind::Accepted, nullptr, keep, nullptr, 0});
    } catch (const std::bad_alloc&) {
      // Out of memory on this thread (an exception leaving it would
      // terminate the process): the result stays in heldReady, and the
      // waiter's watchdog wakes JS for it within kAcceptWatchdogMs.
      return;
    }
    keep->env->Flush();
  });
  UpdateActive();
  return env.Undefined();
}

// Any thread: the held accept's result, once (false when already taken or none).
bool ListenerCore::TakeHeld(SOCKET* out, int* error) {
  if (!heldReady.exchange(false, std::memory_order_acq_rel)) return false;
  *out = heldSocket;
  *error = heldError;
  heldSocket = INVALID_SOCKET;
  return true;
}

// JS thread: the held accept finished (its event, or a watchdog wake-up
// when that event could not be queued).
void NativeListener::DeliverHeld() {
  SOCKET s = INVALID_SOCKET;
  int error = 0;
  if (!core->TakeHeld(&s, &error)) return;
  Napi::Env env = Env();
  core->acceptInFlight = false;
  core->deferredHead = false;
  UpdateActive();
  if (core->closed || owner_.IsEmpty()) {
    if (s != INVALID_SOCKET) {
      linger l{1, 0};
      setsockopt(s, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&l), sizeof(l));
      closesocket(s);
    }
    return;
  }
  Napi::HandleScope scope(env);
  Napi::Value result;
  if (s == INVALID_SOCKET) {
    result = Napi::Number::New(env, error);
  } else {
    sockaddr_storage peer{};
    int len = sizeof(peer);
    if (getpeername(s, reinterpret_cast<sockaddr*>(&peer), &len) != 0) len = 0;
    result = AdoptAccepted(env, core.get(), s, &peer, len, core->heldHandOff);
  }
  Napi::Object o = owner_.Value();
  o.Get("onAcceptHeld").As<Napi::Function>().Call(o, {result});
}

Napi::Value NativeListener::Close(const Napi::CallbackInfo& info) {
  core->Close();
  UpdateActive();
  return info.Env().Undefined();
}

Napi::Value NativeListener::Ref(const Napi::CallbackInfo& info) {
  userRef_ = true;
  UpdateActive();
  return info.Env().Undefined();
}

Napi::Value NativeListener::Unref(const Napi::CallbackInfo& info) {
  userRef_ = false;
  UpdateActive();
  return info.Env().Undefined();
}

// After close the SOCKET value may already name another socket.
Napi::Value NativeListener::Address(const Napi::CallbackInfo& info) {
  if (core->closed) ThrowWinsock(info.Env(), WSAENOTSOCK, "getsockname");
  return SockName(info.Env(), core->s, false);
}
Napi::Value NativeListener::Protocol(const Napi::CallbackInfo& info) {
  return ProtocolToJs(info.Env(), *core->protocol);
}
Napi::Value NativeListener::ConditionalAccept(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), core->conditionalAccept);
}

void InitListener(Napi::Env env, Napi::Object exports) {
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
}

}  // namespace ws2
