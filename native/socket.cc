// A connected socket: overlapped WSARecv/WSASend on the environment's
// completion port, back-pressure, ordering, lifetime (close, reset, GC).
#include "common.h"

namespace ws2 {

// JS thread. Registers the core so the cleanup hook can close it.
std::shared_ptr<SocketCore> NewSocketCore(const std::shared_ptr<EnvState>& env, SOCKET s) {
  auto core = std::make_shared<SocketCore>();
  core->env = env;
  core->s = s;
  env->handles++;
  std::lock_guard<std::mutex> lock(env->regMu);
  env->sockets[core.get()] = core;
  return core;
}

// ---- the receive pool ---------------------------------------------------------

PoolBuf& PoolBuf::operator=(PoolBuf&& o) noexcept {
  if (this != &o) {
    if (p_ != nullptr) env_->GiveBuf(p_, cap_);
    env_ = o.env_;
    p_ = o.p_;
    cap_ = o.cap_;
    o.p_ = nullptr;
  }
  return *this;
}

PoolBuf::~PoolBuf() {
  if (p_ != nullptr) env_->GiveBuf(p_, cap_);
}

// Any thread.
std::vector<char> EnvState::TakeSendBuffer() {
  std::lock_guard<std::mutex> lock(poolMu);
  std::vector<char> b;
  if (!spareSendBuffers.empty()) {
    // The largest: a writer that grew its queue before will need it again.
    auto it = std::max_element(
        spareSendBuffers.begin(), spareSendBuffers.end(),
        [](const std::vector<char>& x, const std::vector<char>& y) { return x.capacity() < y.capacity(); });
    b.swap(*it);
    spareSendBuffers.erase(it);
    spareSendBytes -= b.capacity();
  }
  return b;
}

// Any thread.
void EnvState::GiveSendBuffer(std::vector<char>&& b) {
  if (b.capacity() == 0) return;
  b.clear();
  std::lock_guard<std::mutex> lock(poolMu);
  if (spareSendBytes + b.capacity() > kSpareSendBytes) return;  // freed with `b`
  spareSendBytes += b.capacity();
  spareSendBuffers.push_back(std::move(b));
}

// IOCP thread, the waiter's mu held.
char* EnvState::ReadBlock(const std::shared_ptr<SocketCore>& waiter) {
  std::lock_guard<std::mutex> lock(poolMu);
  if (poolLent >= kRecvBudget) {
    statPoolStarved++;
    starved.push_back(waiter);
    return nullptr;
  }
  if (!block) {
    if (!spareBlocks.empty()) {
      block = std::move(spareBlocks.back());
      spareBlocks.pop_back();
    } else {
      block.reset(new char[kRecvSize]);
    }
  }
  return block.get();
}

// IOCP thread: what was read into the block, counted until given back.
PoolBuf EnvState::Lend(size_t n) {
  char* p;
  size_t cap;
  if (n < kRecvCopyBelow) {
    p = new char[n];
    std::memcpy(p, block.get(), n);
    cap = n;
  } else {
    p = block.release();
    cap = kRecvSize;
  }
  std::lock_guard<std::mutex> lock(poolMu);
  poolLent += cap;
  return PoolBuf(this, p, cap);
}

// Any thread.
PoolBuf EnvState::PostBlock() {
  std::lock_guard<std::mutex> lock(poolMu);
  if (poolLent + kRecvSize > kRecvBudget / 4) return PoolBuf();
  char* p;
  if (!spareBlocks.empty()) {
    p = spareBlocks.back().release();
    spareBlocks.pop_back();
  } else {
    p = new char[kRecvSize];
  }
  poolLent += kRecvSize;
  return PoolBuf(this, p, kRecvSize);
}

// Any thread. A socket waiting for the budget is resumed by the IOCP thread,
// which holds no lock then (resuming here could take a second SocketCore::mu).
void EnvState::GiveBuf(char* p, size_t cap) {
  bool resume;
  {
    std::lock_guard<std::mutex> lock(poolMu);
    poolLent -= cap;
    if (cap == kRecvSize && spareBlocks.size() < kSpareBlocks) {
      spareBlocks.emplace_back(p);
      p = nullptr;
    }
    resume = !starved.empty() && poolLent < kRecvBudget;
  }
  delete[] p;
  if (resume && iocp != nullptr) PostQueuedCompletionStatus(iocp, 0, kResumeStarvedKey, nullptr);
}

// IOCP thread, no lock held.
void EnvState::ResumeStarved() {
  std::vector<std::weak_ptr<SocketCore>> waiting;
  {
    std::lock_guard<std::mutex> lock(poolMu);
    waiting.swap(starved);
  }
  for (auto& w : waiting) {
    std::shared_ptr<SocketCore> core = w.lock();
    if (!core) continue;
    std::lock_guard<std::mutex> lock(core->mu);
    core->waitingForBuffer = false;
    core->PumpLocked();  // the zero-byte read completes at once if bytes wait
  }
}

// ---- receives ---------------------------------------------------------------

namespace {
char zeroByte = 0;  // the zero-byte read's buffer (libuv's uv_zero_)
}  // namespace

// IOCP thread, or JS thread; mu held. Posts the next WSARecv: a zero-byte
// one, which completes when bytes (or the end) are there without pinning a
// buffer while the connection is idle (libuv does the same on Windows);
// while a transfer streams, one with a block from the receive budget: under
// Wine the bytes then arrive with the completion, which halves the
// wineserver round trips per block (bulk throughput), and the budget bounds
// how many blocks are posted at once.
void SocketCore::PumpLocked() {
  if (closed || !reading || eof || readPosted || waitingForBuffer || undelivered >= kUndeliveredCap) return;
  auto op = std::make_unique<Op>(OpKind::Recv);
  op->core = shared_from_this();
  if (streaming) op->buf = env->PostBlock();
  WSABUF b{0, &zeroByte};
  if (op->buf) b = WSABUF{static_cast<ULONG>(kRecvSize), op->buf.get()};
  DWORD flags = 0;
  readPosted = true;
  env->outstandingOps++;
  int r = WSARecv(s, &b, 1, nullptr, &flags, &op->ov, nullptr);
  if (r == 0 || WSAGetLastError() == WSA_IO_PENDING) {
    op.release();  // owned by the completion port until dequeued
    return;
  }
  // Failed at once: no completion packet will come. The caller flushes.
  int err = WSAGetLastError();
  readPosted = false;
  env->outstandingOps--;
  eof = true;
  env->Push(Event{EventKind::RecvError, shared_from_this(), nullptr, nullptr, err});
}

// IOCP thread. A read completed: read what else is there with non-blocking
// recv() (under Wine every overlapped completion costs several wineserver
// round trips, a synchronous read only one), then post the next.
void SocketCore::OnRecvComplete(std::unique_ptr<Op> op) {
  std::lock_guard<std::mutex> lock(mu);
  readPosted = false;
  env->statRecvCompletions++;
  if (closed || eof) return;
  if (op->error != 0) {
    eof = true;
    env->Push(Event{EventKind::RecvError, shared_from_this(), nullptr, nullptr, op->error});
    return;
  }
  size_t got = 0;
  if (op->buf) {  // a read with a block: 0 bytes is the end
    if (op->bytes == 0) {
      eof = true;
      env->Push(Event{EventKind::End, shared_from_this(), nullptr, nullptr, 0});
      return;
    }
    got = op->bytes;
    env->statRecvBytes += op->bytes;
    PushData(std::move(op));
  }
  got += DrainLocked();
  streaming = got >= kRecvSize;
  PumpLocked();
}

// mu held.
void SocketCore::PushData(std::unique_ptr<Op> op) {
  undelivered += op->bytes;
  Event e{EventKind::Data, shared_from_this(), nullptr, nullptr, 0};
  e.op = std::move(op);
  env->Push(std::move(e));
}

// IOCP thread, mu held: non-blocking reads until WSAEWOULDBLOCK, the cap, or
// the environment's budget is spent.
size_t SocketCore::DrainLocked() {
  size_t got = 0;
  while (!closed && reading && !eof && !waitingForBuffer && undelivered < kUndeliveredCap) {
    char* block = env->ReadBlock(shared_from_this());
    if (block == nullptr) {
      waitingForBuffer = true;  // EnvState::ResumeStarved posts the next read
      return got;
    }
    int r = recv(s, block, static_cast<int>(kRecvSize), 0);
    if (r < 0) {
      int err = WSAGetLastError();
      if (err == WSAEWOULDBLOCK) return got;
      eof = true;
      env->Push(Event{EventKind::RecvError, shared_from_this(), nullptr, nullptr, err});
      return got;
    }
    env->statDrainReads++;
    if (r == 0) {
      eof = true;
      env->Push(Event{EventKind::End, shared_from_this(), nullptr, nullptr, 0});
      return got;
    }
    auto op = std::make_unique<Op>(OpKind::Recv);
    op->core = shared_from_this();
    op->buf = env->Lend(static_cast<size_t>(r));
    op->bytes = static_cast<DWORD>(r);
    env->statRecvBytes += op->bytes;
    got += op->bytes;
    PushData(std::move(op));
  }
  return got;
}

// IOCP or JS thread, mu held.
void SocketCore::FlushQueuedLocked(bool force) {
  if (closed || queued.empty() || (!force && copiedSends >= kCopiedSendsInFlight)) return;
  auto op = std::make_unique<Op>(OpKind::Send);
  op->core = shared_from_this();
  op->copied = true;
  op->data.swap(queued);
  if (!sendPool.empty()) {
    queued.swap(sendPool.back());
    sendPool.pop_back();
  } else {
    queued = env->TakeSendBuffer();
  }
  op->wsabufs.push_back(WSABUF{static_cast<ULONG>(op->data.size()), op->data.data()});
  env->outstandingOps++;
  size_t op_size = op->data.size();
  int r = WSASend(s, op->wsabufs.data(), 1, nullptr, 0, &op->ov, nullptr);
  if (r != 0 && WSAGetLastError() != WSA_IO_PENDING) {
    int err = WSAGetLastError();
    env->outstandingOps--;
    copiedInFlight -= op->data.size();
    if (!sendErrorReported) {
      sendErrorReported = true;
      env->Push(Event{EventKind::SendError, shared_from_this(), nullptr, nullptr, err});
    }
    if (copiedInFlight == 0 && drainWanted) {
      drainWanted = false;
      env->Push(Event{EventKind::SendsDrained, shared_from_this(), nullptr, nullptr, 0});
    }
    return;
  }
  op.release();  // the completion port owns it now
  copiedSends++;
  env->statSends++;
  env->statSendBytes += op_size;
}

// IOCP thread. A copied send completed: nobody waits for it in JS, except a
// failure (reported once as the socket's error) and the last one when JS
// waits for the sends to drain (sendDisconnect, keep-alive). The freed slot
// sends what was queued meanwhile.
void SocketCore::OnCopiedSendComplete(std::unique_ptr<Op> op) {
  std::lock_guard<std::mutex> lock(mu);
  copiedSends--;
  copiedInFlight -= op->data.size();
  if (sendPool.size() < static_cast<size_t>(kCopiedSendsInFlight) + 1) {
    op->data.clear();  // keeps the capacity
    sendPool.push_back(std::move(op->data));
  }
  if (op->error != 0 && !closed && !sendErrorReported) {
    sendErrorReported = true;
    env->Push(Event{EventKind::SendError, shared_from_this(), nullptr, nullptr, op->error});
  }
  if (closed) {
    copiedInFlight -= std::min(copiedInFlight, queued.size());
    queued.clear();
  }
  FlushQueuedLocked(false);
  if (copiedInFlight == 0) {
    // Idle: an idle socket keeps no send memory; its buffers go to the
    // environment's spares (the reuse above is for a socket that keeps
    // writing).
    for (auto& b : sendPool) env->GiveSendBuffer(std::move(b));
    sendPool.clear();
    env->GiveSendBuffer(std::move(queued));
    queued = std::vector<char>();
    if (drainWanted) {
      drainWanted = false;
      env->Push(Event{EventKind::SendsDrained, shared_from_this(), nullptr, nullptr, 0});
    }
  }
}

// JS thread.
void SocketCore::CancelConnectWait() {
  if (connectWait != nullptr) {
    // Blocks until a running wait callback returned (it only queues an event).
    UnregisterWaitEx(connectWait, INVALID_HANDLE_VALUE);
    connectWait = nullptr;
  }
  if (connectEvent != nullptr) {
    if (!closed) WSAEventSelect(s, nullptr, 0);
    CloseHandle(connectEvent);
    connectEvent = nullptr;
  }
  connecting = false;
}

// JS thread. Pending receives and sends complete as aborted on the IOCP
// thread; their memory lives until then.
void SocketCore::Close(bool abortive) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return;
  }
  CancelConnectWait();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (abortive) {
      linger l{1, 0};
      setsockopt(s, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&l), sizeof(l));
    }
    closed = true;
    // Cancel what is in flight first: under Wine a send blocked by a peer
    // that does not read stayed pending after closesocket (its write callback
    // never ran); on Windows closesocket cancels them anyway. Unsent data is
    // dropped either way (destroy() semantics).
    CancelIoEx(reinterpret_cast<HANDLE>(s), nullptr);
    closesocket(s);
    // Queued copied bytes are dropped (closesocket drops unsent data).
    copiedInFlight -= std::min(copiedInFlight, queued.size());
    queued.clear();
    if (copiedInFlight == 0 && drainWanted) {
      drainWanted = false;
      env->Push(Event{EventKind::SendsDrained, shared_from_this(), nullptr, nullptr, 0});
    }
  }
  env->Flush();
  env->handles--;
  std::lock_guard<std::mutex> lock(env->regMu);
  env->sockets.erase(this);
}

// JS thread. The SOCKET goes to Node's TCP handle: from now on libuv owns
// and closes it; this core behaves as closed (every method answers
// WSAENOTSOCK) but never touches the SOCKET again.
SOCKET SocketCore::GiveAway() {
  if (associated || connecting) return INVALID_SOCKET;
  SOCKET taken;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return INVALID_SOCKET;
    closed = true;
    givenAway = true;
    taken = s;
  }
  env->handles--;
  std::lock_guard<std::mutex> lock(env->regMu);
  env->sockets.erase(this);
  return taken;
}

// Any thread (the last reference may drop on the IOCP thread). A core is
// normally closed by NativeSocket (destroy, GC) or the cleanup hook; this
// catches an error path that dropped it without either. A SOCKET given away
// is never closed here: `closed` is set then.
SocketCore::~SocketCore() {
  if (closed || s == INVALID_SOCKET) return;
  closesocket(s);
  env->handles--;
  std::lock_guard<std::mutex> lock(env->regMu);
  auto it = env->sockets.find(this);
  if (it != env->sockets.end()) env->sockets.erase(it);
}

// ---- the JS object -----------------------------------------------------------

Napi::Function NativeSocket::Define(Napi::Env env) {
  return DefineClass(env, "NativeSocket",
                     {
                         InstanceMethod<&NativeSocket::Attach>("attach"),
                         InstanceMethod<&NativeSocket::ReadStart>("readStart"),
                         InstanceMethod<&NativeSocket::ReadStop>("readStop"),
                         InstanceMethod<&NativeSocket::Write>("write"),
                         InstanceMethod<&NativeSocket::SendDisconnect>("sendDisconnect"),
                         InstanceMethod<&NativeSocket::RecvDisconnect>("recvDisconnect"),
                         InstanceMethod<&NativeSocket::Close>("close"),
                         InstanceMethod<&NativeSocket::Reset>("reset"),
                         InstanceMethod<&NativeSocket::Ref>("ref"),
                         InstanceMethod<&NativeSocket::Unref>("unref"),
                         InstanceMethod<&NativeSocket::LocalAddress>("localAddress"),
                         InstanceMethod<&NativeSocket::RemoteAddress>("remoteAddress"),
                         InstanceMethod<&NativeSocket::Protocol>("protocol"),
                         InstanceMethod<&NativeSocket::CalleeData>("calleeData"),
                         InstanceMethod<&NativeSocket::SetNoDelay>("setNoDelay"),
                         InstanceMethod<&NativeSocket::SetKeepAlive>("setKeepAlive"),
                         InstanceMethod<&NativeSocket::Options>("options"),
                         InstanceMethod<&NativeSocket::Detach>("detach"),
                     });
}

// JS thread. The constructor is not exported, but JS reaches it through
// obj.constructor: without Wrap()'s token it throws (a NativeSocket without
// a core would crash at its first method call).
NativeSocket::NativeSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeSocket>(info) {
  if (!IsConstructToken(info[0])) {
    throw Napi::TypeError::New(info.Env(), "NativeSocket cannot be constructed from JavaScript");
  }
}

// JS thread. Wraps a core in a new JS object.
Napi::Object NativeSocket::Wrap(Napi::Env env, std::shared_ptr<SocketCore> socketCore) {
  Napi::Object obj = SocketConstructor(env).New({ConstructToken(env)});
  NativeSocket* self = NativeSocket::Unwrap(obj);
  self->core = std::move(socketCore);
  self->core->wrap = self;
  return obj;
}

// JS thread: garbage collection of a forgotten socket closes it (a socket
// that is reading, writing or connecting is not collectable: see UpdateActive).
NativeSocket::~NativeSocket() {
  if (!core) return;
  core->wrap = nullptr;
  if (keeping_ && !core->env->tornDown) core->env->Release();
  core->Close(false);
}

// JS thread. The owner (lib/native/socket.ts) receives onConnect/onData/
// onEnd/onError. It is held strongly only while the socket is active
// (open and reading, writing or connecting), like a libuv handle; otherwise
// weakly, so an idle forgotten socket can be collected and closed.
void NativeSocket::SetOwner(Napi::Object owner) {
  owner_ = Napi::Weak(owner);
  hasOwner_ = true;
  ownerStrong_ = false;
  UpdateActive();
}

// JS thread.
void NativeSocket::UpdateActive() {
  bool closed;
  bool reading;
  {
    std::lock_guard<std::mutex> lock(core->mu);
    closed = core->closed;
    reading = core->reading;
  }
  // Strong while data may still come (read started, not ended) even when
  // paused by back-pressure; keeps the loop alive only while really busy.
  bool busy = core->pendingWrites > 0 || core->connecting || core->copiedActive;
  bool strong = !closed && (streaming_ || busy);
  if (hasOwner_ && strong != ownerStrong_) {
    if (!strong) {
      owner_.Unref();
      ownerStrong_ = false;
    } else if (owner_.Value().IsEmpty()) {
      hasOwner_ = false;  // the weakly held owner was collected: nobody listens
    } else {
      owner_.Ref();
      ownerStrong_ = true;
    }
  }
  bool keep = !closed && userRef_ && (reading || busy);
  if (keep != keeping_) {
    if (keep)
      core->env->AddRef();
    else
      core->env->Release();
    keeping_ = keep;
  }
}

// JS thread: received bytes are copied into an ordinary Buffer (Electron
// forbids external buffers) and the native buffer is reused.
void NativeSocket::DeliverData(std::unique_ptr<Op> op) {
  Napi::Env env = Env();
  DWORD n = op->bytes;
  bool closed;
  {
    std::lock_guard<std::mutex> lock(core->mu);
    closed = core->closed;
  }
  Napi::Buffer<char> chunk;
  if (!closed) chunk = Napi::Buffer<char>::Copy(env, op->buf.get(), n);
  op.reset();  // the pool buffer goes back now
  {
    std::lock_guard<std::mutex> lock(core->mu);
    core->undelivered -= n;
  }
  if (closed || !hasOwner_) return;
  Napi::Value owner = owner_.Value();
  if (!owner.IsObject()) return;
  Napi::Object o = owner.As<Napi::Object>();
  // A throwing onData (a user's 'data' listener) must not stop this
  // socket's reads for good: the next receive is posted first, then the
  // exception goes on (CallJs makes it an uncaught exception, as Node's own
  // streams do).
  Napi::Value more;
  Napi::Error thrown;
  try {
    more = o.Get("onData").As<Napi::Function>().Call(o, {chunk});
  } catch (const Napi::Error& e) {
    thrown = e;
  }
  bool stopped = false;
  {
    std::lock_guard<std::mutex> lock(core->mu);
    if (thrown.IsEmpty() && !more.ToBoolean() && core->reading) {
      core->reading = false;  // back-pressure: until readStart()
      stopped = true;
    }
    core->PumpLocked();  // below the cap again: post the next receive
  }
  // PumpLocked may queue events (a receive that failed at once) from this
  // thread: the IOCP thread would not flush them.
  core->env->Flush();
  if (stopped) UpdateActive();
  if (!thrown.IsEmpty()) throw thrown;
}

// JS thread: every copied send completed (or the socket closed).
void NativeSocket::DeliverSendsDrained() {
  {
    std::lock_guard<std::mutex> lock(core->mu);
    if (core->copiedInFlight != 0 && !core->closed) {
      core->drainWanted = true;  // more were sent meanwhile: wait for those too
      return;
    }
  }
  core->copiedActive = false;
  if (core->disconnectPending) {
    core->disconnectPending = false;
    int err = DoSendDisconnect(core->disconnectPendingData.data(), core->disconnectPendingData.size(),
                               core->disconnectPendingHasData);
    Napi::Function cb = disconnectCallback_.Value();
    disconnectCallback_.Reset();
    UpdateActive();
    cb.Call({Napi::Number::New(Env(), err)});
    return;
  }
  UpdateActive();
}

// JS thread.
void NativeSocket::DeliverEnd() {
  Napi::Env env = Env();
  bool closed;
  {
    std::lock_guard<std::mutex> lock(core->mu);
    closed = core->closed;
  }
  if (closed || !hasOwner_) return;
  Napi::Value data = env.Null();
  // Providers that carry disconnect data: fetch it now, when every byte has
  // been read (WSARecvDisconnect resets the connection if data is queued).
  if ((core->protocol->serviceFlags & XP1_DISCONNECT_DATA) != 0 && !core->recvDisconnectDone) {
    std::vector<char> buf(65536);
    WSABUF b{static_cast<ULONG>(buf.size()), buf.data()};
    if (WSARecvDisconnect(core->s, &b) == 0) {
      core->recvDisconnectDone = true;
      core->hasDisconnectData = b.len > 0 && b.len <= buf.size();
      if (core->hasDisconnectData) {
        core->disconnectData.assign(buf.data(), buf.data() + b.len);
        data = Napi::Buffer<char>::Copy(env, core->disconnectData.data(), core->disconnectData.size());
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(core->mu);
    core->reading = false;
  }
  Napi::Value owner = owner_.Value();
  streaming_ = false;
  UpdateActive();
  if (!owner.IsObject()) return;
  Napi::Object o = owner.As<Napi::Object>();
  o.Get("onEnd").As<Napi::Function>().Call(o, {data});
}

// JS thread.
void NativeSocket::DeliverError(int error, const char* syscall) {
  Napi::Env env = Env();
  bool closed;
  {
    std::lock_guard<std::mutex> lock(core->mu);
    closed = core->closed;
    core->reading = false;
  }
  Napi::Value owner = hasOwner_ ? owner_.Value() : env.Undefined();
  streaming_ = false;
  UpdateActive();
  if (closed) return;  // after our own close: aborted, not reported
  if (!owner.IsObject()) return;
  Napi::Object o = owner.As<Napi::Object>();
  o.Get("onError").As<Napi::Function>().Call(o, {Napi::Number::New(env, error), Napi::String::New(env, syscall)});
}

// JS thread. attach(owner): starts delivery for an accepted socket.
Napi::Value NativeSocket::Attach(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject())
    NAPI_THROW(Napi::TypeError::New(info.Env(), "attach(owner): owner must be an object"), Napi::Value());
  SetOwner(info[0].As<Napi::Object>());
  return info.Env().Undefined();
}

// JS thread.
Napi::Value NativeSocket::ReadStart(const Napi::CallbackInfo& info) {
  {
    std::lock_guard<std::mutex> lock(core->mu);
    core->reading = !core->closed && !core->eof;
    if (core->reading) streaming_ = true;
    core->PumpLocked();
  }
  core->env->Flush();
  UpdateActive();
  return info.Env().Undefined();
}

// JS thread. Receives already posted still complete and are delivered.
Napi::Value NativeSocket::ReadStop(const Napi::CallbackInfo& info) {
  {
    std::lock_guard<std::mutex> lock(core->mu);
    core->reading = false;
  }
  UpdateActive();
  return info.Env().Undefined();
}

// JS thread. write(chunks: Buffer[], callback(errno)): boolean. One
// overlapped WSASend. Small writes are copied (returns true: the write is
// complete for JS and `callback` will not run; a later failure is reported
// through onError). Otherwise (returns false) the array, and so its Buffers,
// is referenced until the completion reaches JS, which runs `callback`; the
// caller must not mutate it. Throws when WSASend fails at once.
Napi::Value NativeSocket::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool needUpdate = false;
  if (!info[0].IsArray() || !info[1].IsFunction()) {
    NAPI_THROW(Napi::TypeError::New(env, "write(chunks: Buffer[], callback)"), Napi::Value());
  }
  Napi::Array chunks = info[0].As<Napi::Array>();
  auto op = std::make_unique<Op>(OpKind::Send);
  op->core = core;
  uint32_t n = chunks.Length();
  size_t total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Napi::Value v = chunks.Get(i);
    if (!v.IsBuffer()) NAPI_THROW(Napi::TypeError::New(env, "write: every chunk must be a Buffer"), Napi::Value());
    total += v.As<Napi::Buffer<char>>().Length();
  }
  // WSABUF lengths are 32-bit (ULONG): a larger write would be truncated
  // silently. lib/native/socket.ts splits writes below kMaxWrite; refuse the
  // rest clearly.
  if (total > kMaxWrite) ThrowWinsock(env, WSAEMSGSIZE, "WSASend");
  if (total <= kCopyMax) {
    std::lock_guard<std::mutex> lock(core->mu);
    if (core->closed) ThrowWinsock(env, WSAENOTSOCK, "WSASend");
    if (core->copiedInFlight + total <= kCopyCap) {
      // Copy into the queue, send when a slot is free; JS completes the
      // write at once.
      for (uint32_t i = 0; i < n; ++i) {
        Napi::Buffer<char> b = chunks.Get(i).As<Napi::Buffer<char>>();
        if (core->queued.capacity() == 0) core->queued = core->env->TakeSendBuffer();
        core->queued.insert(core->queued.end(), b.Data(), b.Data() + b.Length());
      }
      core->copiedInFlight += total;
      core->drainWanted = true;
      core->FlushQueuedLocked(false);
      if (!core->copiedActive) {
        core->copiedActive = true;
        needUpdate = true;
      }
      op.reset();
    }
  }
  // A WSASend that failed at once queued SendError/SendsDrained: wake JS for
  // them (nothing else would on a socket with no read posted).
  core->env->Flush();
  if (needUpdate || (op == nullptr)) {
    if (needUpdate) UpdateActive();
    return Napi::Boolean::New(env, true);
  }
  op->wsabufs.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Napi::Value v = chunks.Get(i);
    if (!v.IsBuffer()) NAPI_THROW(Napi::TypeError::New(env, "write: every chunk must be a Buffer"), Napi::Value());
    Napi::Buffer<char> b = v.As<Napi::Buffer<char>>();
    op->wsabufs.push_back(WSABUF{static_cast<ULONG>(b.Length()), b.Data()});
  }
  op->keep = Napi::Persistent(chunks.As<Napi::Object>());
  op->callback = Napi::Persistent(info[1].As<Napi::Function>());
  {
    std::lock_guard<std::mutex> lock(core->mu);
    if (core->closed) ThrowWinsock(env, WSAENOTSOCK, "WSASend");
    // Bytes queued earlier go first: Winsock keeps the order of WSASend calls.
    core->FlushQueuedLocked(true);
    core->env->Flush();
    core->env->outstandingOps++;
    int r = WSASend(core->s, op->wsabufs.data(), static_cast<DWORD>(op->wsabufs.size()), nullptr, 0, &op->ov, nullptr);
    if (r != 0 && WSAGetLastError() != WSA_IO_PENDING) {
      int err = WSAGetLastError();
      core->env->outstandingOps--;
      ThrowWinsock(env, err, "WSASend");
    }
    op.release();  // the completion port owns it now; WriteDone gives it back
  }
  core->pendingWrites++;
  UpdateActive();  // takes core->mu itself
  return Napi::Boolean::New(env, false);
}

// JS thread. closesocket, graceful (unsent data dropped).
Napi::Value NativeSocket::Close(const Napi::CallbackInfo& info) {
  core->Close(false);
  UpdateActive();
  return info.Env().Undefined();
}

// JS thread. closesocket with SO_LINGER {1,0}: the peer sees a reset.
Napi::Value NativeSocket::Reset(const Napi::CallbackInfo& info) {
  core->Close(true);
  UpdateActive();
  return info.Env().Undefined();
}

Napi::Value NativeSocket::Ref(const Napi::CallbackInfo& info) {
  userRef_ = true;
  UpdateActive();
  return info.Env().Undefined();
}

Napi::Value NativeSocket::Unref(const Napi::CallbackInfo& info) {
  userRef_ = false;
  UpdateActive();
  return info.Env().Undefined();
}

// After close (or the hand-off) the SOCKET value may already name another
// socket: never ask Winsock about it.
Napi::Value NativeSocket::LocalAddress(const Napi::CallbackInfo& info) {
  if (core->closed) ThrowWinsock(info.Env(), WSAENOTSOCK, "getsockname");
  return SockName(info.Env(), core->s, false);
}
Napi::Value NativeSocket::RemoteAddress(const Napi::CallbackInfo& info) {
  if (core->closed) ThrowWinsock(info.Env(), WSAENOTSOCK, "getpeername");
  if (core->peerLen > 0) return AddressToJs(info.Env(), reinterpret_cast<const sockaddr*>(&core->peer), core->peerLen);
  return SockName(info.Env(), core->s, true);
}
Napi::Value NativeSocket::Protocol(const Napi::CallbackInfo& info) { return ProtocolToJs(info.Env(), *core->protocol); }

// Any thread.
int MakeNonInheritable(SOCKET s) {
  if (!SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0)) {
    return static_cast<int>(GetLastError());
  }
  return 0;
}

// Any thread.
int SetNoDelayOption(SOCKET s, bool enable) {
  BOOL on = enable ? TRUE : FALSE;
  if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&on), sizeof(on)) != 0) {
    return WSAGetLastError();
  }
  return 0;
}

// JS thread. setNoDelay(enable): TCP_NODELAY (on by default, see
// listener.cc / connect.cc). Throws a Winsock error.
Napi::Value NativeSocket::SetNoDelay(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(core->mu);
  if (core->closed) ThrowWinsock(info.Env(), WSAENOTSOCK, "setsockopt(TCP_NODELAY)");
  int err = SetNoDelayOption(core->s, info[0].ToBoolean());
  if (err != 0) ThrowWinsock(info.Env(), err, "setsockopt(TCP_NODELAY)");
  return info.Env().Undefined();
}

// JS thread. setKeepAlive(enable, initialDelayMs), set as libuv sets it
// (src/win/tcp.c, uv__tcp_keepalive) so that getsockopt(SO_KEEPALIVE) reads
// back what was set: SO_KEEPALIVE itself, then the first probe after
// initialDelayMs idle (whole seconds; 0 leaves the system's 2 h), every
// second, 10 probes, with TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT
// (Windows 10 1709 and later) or else SIO_KEEPALIVE_VALS. Throws a Winsock
// error.
Napi::Value NativeSocket::SetKeepAlive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double delay = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
  if (!(delay >= 0 && delay <= 0xFFFFFFFFu)) {
    NAPI_THROW(Napi::RangeError::New(env, "setKeepAlive: initialDelayMs must be 0 .. 2^32-1"), Napi::Value());
  }
  BOOL on = info[0].ToBoolean() ? TRUE : FALSE;
  std::lock_guard<std::mutex> lock(core->mu);
  if (core->closed) ThrowWinsock(env, WSAENOTSOCK, "setsockopt(SO_KEEPALIVE)");
  if (setsockopt(core->s, SOL_SOCKET, SO_KEEPALIVE, reinterpret_cast<const char*>(&on), sizeof(on)) != 0) {
    ThrowWinsock(env, WSAGetLastError(), "setsockopt(SO_KEEPALIVE)");
  }
  DWORD idle = static_cast<DWORD>(delay / 1000);  // whole seconds, as net rounds
  if (!on || idle == 0) return env.Undefined();
  // ws2ipdef.h's values; older mingw-w64 headers lack them.
  constexpr int kTcpKeepIdle = 3;    // TCP_KEEPIDLE (= TCP_KEEPALIVE)
  constexpr int kTcpKeepCnt = 16;    // TCP_KEEPCNT
  constexpr int kTcpKeepIntvl = 17;  // TCP_KEEPINTVL
  DWORD interval = 1;
  DWORD count = 10;
  if (setsockopt(core->s, IPPROTO_TCP, kTcpKeepIdle, reinterpret_cast<const char*>(&idle), sizeof(idle)) == 0 &&
      setsockopt(core->s, IPPROTO_TCP, kTcpKeepIntvl, reinterpret_cast<const char*>(&interval), sizeof(interval)) ==
          0 &&
      setsockopt(core->s, IPPROTO_TCP, kTcpKeepCnt, reinterpret_cast<const char*>(&count), sizeof(count)) == 0) {
    return env.Undefined();
  }
  // Before Windows 10 1709 (and wherever those options are missing): the
  // ioctl, in milliseconds; the probe count is fixed at 10 there.
  tcp_keepalive ka{};
  ka.onoff = 1;
  ka.keepalivetime = idle * 1000u;
  ka.keepaliveinterval = interval * 1000u;
  DWORD bytes = 0;
  if (WSAIoctl(core->s, SIO_KEEPALIVE_VALS, &ka, sizeof(ka), nullptr, 0, &bytes, nullptr, nullptr) != 0) {
    ThrowWinsock(env, WSAGetLastError(), "WSAIoctl(SIO_KEEPALIVE_VALS)");
  }
  return env.Undefined();
}

// JS thread. options(): { noDelay, keepAlive } read back with getsockopt
// (for tests and diagnostics). Throws a Winsock error.
Napi::Value NativeSocket::Options(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(core->mu);
  if (core->closed) ThrowWinsock(env, WSAENOTSOCK, "getsockopt");
  BOOL noDelay = FALSE;
  BOOL keepAlive = FALSE;
  int len = sizeof(noDelay);
  if (getsockopt(core->s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<char*>(&noDelay), &len) != 0) {
    ThrowWinsock(env, WSAGetLastError(), "getsockopt(TCP_NODELAY)");
  }
  len = sizeof(keepAlive);
  if (getsockopt(core->s, SOL_SOCKET, SO_KEEPALIVE, reinterpret_cast<char*>(&keepAlive), &len) != 0) {
    ThrowWinsock(env, WSAGetLastError(), "getsockopt(SO_KEEPALIVE)");
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("noDelay", Napi::Boolean::New(env, noDelay != FALSE));
  o.Set("keepAlive", Napi::Boolean::New(env, keepAlive != FALSE));
  return o;
}

// JS thread. detach(): number. Gives the connected SOCKET away (see
// SocketCore::GiveAway); the caller owns it now and must hand it to Node's
// TCP handle or closeSocket() it. Throws WSAENOTSOCK after close, WSAEINVAL
// for a socket of the addon's data path or one still connecting.
Napi::Value NativeSocket::Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (core->closed) ThrowWinsock(env, WSAENOTSOCK, "detach");
  if (!core->handOff || core->associated || core->connecting) ThrowWinsock(env, WSAEINVAL, "detach");
  // Not PrepareForHandOff (an accepted socket's): this one connected with
  // its own FD_CONNECT selection, which DeliverConnect cancelled
  // (CancelConnectWait), and WSASocketW made it non-inheritable
  // (kSocketFlags). Under Wine each of those calls again would be a
  // wineserver round trip per connect.
  SOCKET taken = core->GiveAway();
  if (taken == INVALID_SOCKET) ThrowWinsock(env, WSAENOTSOCK, "detach");
  UpdateActive();
  return SocketToJs(env, taken);
}

// JS thread. Callee data WSAConnect returned (XP1_CONNECT_DATA providers only).
Napi::Value NativeSocket::CalleeData(const Napi::CallbackInfo& info) {
  if (!core->hasCalleeData) return info.Env().Null();
  return Napi::Buffer<char>::Copy(info.Env(), core->calleeBuf.data(), core->calleeWsabuf.len);
}

}  // namespace ws2
