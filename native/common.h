// Shared declarations of the winsock2 addon: the per-environment state, the
// socket and listener cores, and the events the IOCP thread hands to JS.
//
// Threads (the contract every file follows):
//   JS thread    – the thread of the Node-API environment. All napi calls,
//                  all Napi::Reference handling, WSAAccept, WSAConnect,
//                  close/reset/disconnect.
//   IOCP thread  – one per environment (iocp.cc). Dequeues completions,
//                  re-posts receives, queues events; never touches napi
//                  except napi_call_threadsafe_function.
//   wait threads – the Windows thread pool runs RegisterWaitForSingleObject
//                  callbacks (FD_ACCEPT, FD_CONNECT). They only queue events.
//                  Not libuv's thread pool.
// Data shared between them is guarded by SocketCore::mu or EnvState::mu
// (lock order: SocketCore::mu, then EnvState::mu; never the other way).
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <mstcpip.h>
#include <windows.h>

#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#ifndef NT_SUCCESS
// ntdef.h's definition (not in every mingw-w64 header set): success and
// informational statuses are >= 0; warnings and errors are negative.
#define NT_SUCCESS(status) (static_cast<LONG>(status) >= 0)
#endif

namespace ws2 {

struct EnvState;
struct SocketCore;
struct ListenerCore;

// ---- errors.cc -------------------------------------------------------------

// Throws a JS Error carrying `errno` (the Winsock number) and `syscall`.
// lib/native maps it with WinsockError.fromErrno, the one shared table.
[[noreturn]] void ThrowWinsock(Napi::Env env, int error, const char* syscall);
Napi::Error WinsockErrorValue(Napi::Env env, int error, const char* syscall);

// ---- address.cc ------------------------------------------------------------

// Parses a numeric IPv4/IPv6 address (the TS layer resolves names first).
bool ParseAddress(const std::string& host, int port, sockaddr_storage* out, int* outLen);
Napi::Value AddressToJs(Napi::Env env, const sockaddr* sa, int len);
Napi::Value SockName(Napi::Env env, SOCKET s, bool peer);

// ---- protocols.cc ----------------------------------------------------------

struct ProtocolInfo {
  std::u16string name;
  int addressFamily = 0;
  int socketType = 0;
  int protocol = 0;
  DWORD serviceFlags = 0;
};
// SO_PROTOCOL_INFOW of a socket: its provider's XP1_* flags.
bool QueryProtocol(SOCKET s, ProtocolInfo* out, int* error);
// The same, cached per address family in `st` (any thread).
bool QueryProtocolCached(EnvState* st, SOCKET s, int family, ProtocolInfo* out, int* error);
Napi::Object ProtocolToJs(Napi::Env env, const ProtocolInfo& info);
void InitProtocols(Napi::Env env, Napi::Object exports);

// ---- iocp.cc: events from native threads to JS -------------------------------

enum class OpKind { Recv, Send, Connect };

// Received bytes waiting for JS, counted against the environment's bounded
// receive budget (EnvState::Lend); given back when destroyed, on any thread.
class PoolBuf {
 public:
  PoolBuf() = default;
  PoolBuf(EnvState* env, char* p, size_t cap) : env_(env), p_(p), cap_(cap) {}
  PoolBuf(PoolBuf&& o) noexcept : env_(o.env_), p_(o.p_), cap_(o.cap_) { o.p_ = nullptr; }
  PoolBuf& operator=(PoolBuf&& o) noexcept;
  PoolBuf(const PoolBuf&) = delete;
  PoolBuf& operator=(const PoolBuf&) = delete;
  ~PoolBuf();
  char* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  EnvState* env_ = nullptr;
  char* p_ = nullptr;
  size_t cap_ = 0;  // the allocation's size
};

// One overlapped operation. `ov` is the first member, so an OVERLAPPED*
// from the completion port converts back to the Op. `core` is declared
// before `buf`, so the buffer goes back to the pool while the environment
// is certainly alive.
struct Op {
  OVERLAPPED ov{};
  OpKind kind;
  std::shared_ptr<SocketCore> core;
  PoolBuf buf;  // receives: the bytes read (never for the posted zero-byte read)
  DWORD bytes = 0;
  int error = 0;
  // Sends: the WSABUFs point into Buffers that `keep` holds alive until the
  // completion reaches the JS thread, where the references are released
  // (an Op holding references is only ever destroyed on the JS thread).
  std::vector<WSABUF> wsabufs;
  bool copied = false;  // the bytes are in `data`; JS was told at once
  std::vector<char> data;
  Napi::ObjectReference keep;
  Napi::FunctionReference callback;
  explicit Op(OpKind k) : kind(k) {}
};

// SendError / SendsDrained: copied sends (below) failed / all completed.
// Accepted: a held accept (listener.cc, AcceptHeld) finished on its thread.
enum class EventKind { Data, End, RecvError, WriteDone, SendError, SendsDrained, Connect, Acceptable, Accepted };

struct Event {
  EventKind kind;
  std::shared_ptr<SocketCore> core;
  std::shared_ptr<ListenerCore> listener;
  std::unique_ptr<Op> op;
  int error = 0;
};

// Per-environment state: WSAStartup, the completion port, its thread and the
// thread-safe function that carries batches of events to JS.
// The bounded receive pool: the IOCP thread reads with non-blocking recv()
// into a block of kRecvSize; a read that filled less than kRecvCopyBelow of
// it is copied into an allocation of its size (the block is read into
// again), a larger one hands the block over. Either is held until JS copied
// it into a Buffer. At most kRecvBudget bytes of allocations are held so per
// environment; a socket that finds the budget spent waits on `starved`
// until some are given back (then the IOCP thread resumes it). Idle sockets
// hold nothing, and many small messages do not pin a large block each.
// Large blocks keep bulk transfers at few, large JS chunks (each chunk costs
// JS a call and a stream push).
constexpr size_t kRecvSize = 256 * 1024;
constexpr size_t kRecvCopyBelow = kRecvSize / 4;
constexpr size_t kRecvBudget = 4 * 1024 * 1024;
constexpr size_t kSpareBlocks = 4;  // kept for reuse: 1 MiB
constexpr size_t kSpareSendBytes = 8 * 1024 * 1024;
// Completion key of the IOCP thread's wake-up "resume starved sockets"
// (lpOverlapped null; key 0 with lpOverlapped null is the quit packet).
constexpr ULONG_PTR kResumeStarvedKey = 1;

struct EnvState {
  napi_env env = nullptr;
  HANDLE iocp = nullptr;
  std::thread thread;
  napi_threadsafe_function tsfn = nullptr;
  bool tornDown = false;  // JS thread: the cleanup hook ran

  std::mutex mu;  // guards pending, scheduled
  std::vector<Event> pending;
  bool scheduled = false;

  std::atomic<long> outstandingOps{0};  // overlapped ops not yet dequeued
  std::atomic<long> handles{0};         // open SOCKETs (listeners, sockets)

  int jsRefs = 0;  // JS thread: things that keep the event loop alive

  // Diagnostics for benchmarks (stats()): relaxed counters, any thread.
  std::atomic<uint64_t> statRecvCompletions{0}, statRecvBytes{0}, statDrainReads{0}, statSends{0}, statSendBytes{0},
      statBatches{0}, statEvents{0}, statAcceptWakes{0}, statAcceptPosted{0}, statAcceptDelivered{0},
      statAcceptWakesDone{0}, statPoolStarved{0};

  // SO_PROTOCOL_INFOW per address family: WSASocketW(af, SOCK_STREAM,
  // IPPROTO_TCP, NULL) always picks the same provider, so one query each.
  std::mutex protoMu;
  std::map<int, ProtocolInfo> protoCache;
  LPFN_CONNECTEX connectEx = nullptr;  // guarded by protoMu
  // SIO_TCP_INITIAL_RTO was refused once (Wine; Windows before 10 1709): the
  // stack does not have it, so later connects do not ask again.
  std::atomic<bool> initialRtoRefused{false};

  std::unique_ptr<char[]> block;  // IOCP thread only: the next recv() reads here
  std::mutex poolMu;              // guards the receive budget (after SocketCore::mu)
  size_t poolLent = 0;            // bytes
  std::vector<std::unique_ptr<char[]>> spareBlocks;
  std::vector<std::weak_ptr<SocketCore>> starved;
  // Copied-send buffers of idle sockets, kept (with their capacity) for the
  // next socket that writes: a busy socket does not reallocate its queue
  // (under Wine a large allocation is an mmap/munmap pair), an idle one
  // keeps none. At most kSpareSendBytes of capacity.
  std::vector<std::vector<char>> spareSendBuffers;
  size_t spareSendBytes = 0;
  std::vector<char> TakeSendBuffer();          // any thread
  void GiveSendBuffer(std::vector<char>&& b);  // any thread
  // IOCP thread. The block to read into, or nullptr when the budget is
  // spent: `waiter` is then resumed (SocketCore::PumpLocked) when bytes
  // come back.
  char* ReadBlock(const std::shared_ptr<SocketCore>& waiter);
  PoolBuf Lend(size_t n);  // IOCP thread: `n` bytes were read into the block
  // Any thread: a block for a posted read, or none when a quarter of the
  // budget is already lent (the read posted is then a zero-byte one).
  PoolBuf PostBlock();
  void GiveBuf(char* p, size_t cap);  // any thread
  void ResumeStarved();               // IOCP thread, no lock held

  std::mutex regMu;  // guards the registries below
  std::unordered_map<SocketCore*, std::weak_ptr<SocketCore>> sockets;
  std::unordered_map<ListenerCore*, std::weak_ptr<ListenerCore>> listeners;

  // Any thread. Queues an event; Flush() wakes JS once per batch.
  void Push(Event&& e);
  void Flush();
  // JS thread. Keeps the thread-safe function ref'd while > 0.
  void AddRef();
  void Release();
  // Adds a socket to the completion port; 0 or the GetLastError() code.
  int Associate(SOCKET s);
};

// JS thread: the per-environment state of the calling environment.
std::shared_ptr<EnvState> GetState(Napi::Env env);
// The constructor functions of the wrapped classes (per environment).
Napi::FunctionReference& SocketConstructor(Napi::Env env);
Napi::FunctionReference& ListenerConstructor(Napi::Env env);
// The constructors are reachable from JS (obj.constructor) but must only be
// called by Wrap()/Listen(): they demand this External, which JS cannot make.
Napi::Value ConstructToken(Napi::Env env);
bool IsConstructToken(const Napi::Value& v);
// JS thread: a new socket or listener never leaks into child processes
// (libuv does the same; WSA_FLAG_NO_HANDLE_INHERIT for WSASocketW).
constexpr DWORD kSocketFlags = WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT;
// Accepted sockets inherit the listener's flags on Windows; set it anyway
// (libuv does) so no provider keeps one inheritable. 0 or GetLastError().
int MakeNonInheritable(SOCKET s);
// TCP_NODELAY on a connected socket, like libuv's uv_tcp_nodelay.
int SetNoDelayOption(SOCKET s, bool enable);

void StartIocp(Napi::Env env, EnvState* st);
void StopIocp(EnvState* st);

// ---- socket.cc --------------------------------------------------------------

// Receives: like libuv, a posted zero-byte WSARecv per reading socket (it
// pins no buffer while the socket is idle), then non-blocking recv() into
// pool buffers until WSAEWOULDBLOCK; no new read while JS has not taken this
// much of one socket's bytes.
constexpr size_t kUndeliveredCap = 1024 * 1024;
// Sends: a write up to kCopyMax bytes is copied into native memory and its
// callback runs at once (like libuv's uv_try_write handing bytes to the
// kernel), while at most kCopyCap copied bytes are in flight. This keeps
// enough WSASends outstanding without a JS round trip per send.
constexpr size_t kCopyMax = 256 * 1024;
constexpr size_t kCopyCap = 2 * 1024 * 1024;
// Copied bytes are coalesced: at most this many copied WSASends are in
// flight; writes arriving meanwhile are appended to one buffer that the next
// completion sends (fewer, larger sends: each is a wineserver round trip).
constexpr int kCopiedSendsInFlight = 2;
// One write's bytes at most. WSABUF.len is a 32-bit ULONG: a larger Buffer
// would be truncated. lib/native/socket.ts splits writes at this size.
constexpr size_t kMaxWrite = size_t{1} << 30;

class NativeSocket;

struct SocketCore : std::enable_shared_from_this<SocketCore> {
  std::shared_ptr<EnvState> env;
  SOCKET s = INVALID_SOCKET;
  // Shared with the listener and its other accepted sockets (same provider).
  std::shared_ptr<const ProtocolInfo> protocol;

  // Guarded by mu (IOCP thread and JS thread).
  std::mutex mu;
  bool closed = false;
  bool reading = false;
  bool eof = false;  // a receive returned 0 or failed: post no more
  bool readPosted = false;
  // The last completion and its drain read a full block or more: the next
  // read posted carries a block (see PumpLocked).
  bool streaming = false;
  bool waitingForBuffer = false;  // on EnvState::starved
  size_t undelivered = 0;
  size_t copiedInFlight = 0;  // copied bytes not yet sent (queued + in flight)
  int copiedSends = 0;        // copied WSASends in flight
  std::vector<char> queued;   // copied bytes waiting for a send slot
  // Spent send buffers, reused with their capacity: no large allocation per
  // send (under Wine a large free/alloc is an munmap/mmap pair).
  std::vector<std::vector<char>> sendPool;
  bool sendErrorReported = false;
  bool drainWanted = false;  // JS waits for copied sends (SendsDrained)

  // JS thread only.
  bool copiedActive = false;  // copied sends may be in flight (keeps the loop alive)
  bool disconnectPending = false;
  std::vector<char> disconnectPendingData;
  bool disconnectPendingHasData = false;
  // No Napi references here: the last reference to a core may drop on the
  // IOCP thread (a completion of a closed socket). They live in NativeSocket.
  NativeSocket* wrap = nullptr;
  int pendingWrites = 0;
  bool connecting = false;
  HANDLE connectEvent = nullptr;
  HANDLE connectWait = nullptr;
  sockaddr_storage peer{};  // the peer, known from WSAAccept / the connect target
  int peerLen = 0;
  std::vector<char> calleeBuf;  // WSAConnect's lpCalleeData (XP1_CONNECT_DATA only)
  WSABUF calleeWsabuf{};
  bool hasCalleeData = false;
  bool recvDisconnectDone = false;
  bool hasDisconnectData = false;
  std::vector<char> disconnectData;

  // IOCP or JS thread, with mu held: posts the next read while reading,
  // under the cap, and not waiting for the receive budget.
  void PumpLocked();
  // Called by the IOCP thread for a dequeued receive.
  void OnRecvComplete(std::unique_ptr<Op> op);
  // IOCP thread, mu held: recv() what is waiting; returns the bytes read.
  size_t DrainLocked();
  void PushData(std::unique_ptr<Op> op);  // mu held
  // Called by the IOCP thread for a dequeued copied send.
  void OnCopiedSendComplete(std::unique_ptr<Op> op);
  // mu held: posts the queued copied bytes (when a slot is free, or `force`).
  void FlushQueuedLocked(bool force);
  // JS thread: closesocket (optionally abortive) and unregister. Idempotent.
  void Close(bool abortive);
  void CancelConnectWait();
  // JS thread: gives the SOCKET away (to Node's TCP handle): this core
  // unregisters as if closed but never closes it. INVALID_SOCKET when it was
  // closed or given away already, or when it was ever on our completion port
  // (libuv would fall back to its slow emulated-IOCP mode).
  SOCKET GiveAway();
  // Nobody took the SOCKET and nobody closed it (an error path that dropped
  // the last reference): closed here, once.
  ~SocketCore();

  // The data path this socket was made for: false = 'addon' (our completion
  // port), true = 'libuv' (never associated; given away when connected).
  bool handOff = false;
  bool associated = false;  // JS thread: on our completion port
  bool givenAway = false;   // JS thread: GiveAway() ran
};

std::shared_ptr<SocketCore> NewSocketCore(const std::shared_ptr<EnvState>& env, SOCKET s);

class NativeSocket : public Napi::ObjectWrap<NativeSocket> {
 public:
  static Napi::Function Define(Napi::Env env);
  // JS thread: wraps an accepted or connecting core in a new JS object.
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<SocketCore> socketCore);

  explicit NativeSocket(const Napi::CallbackInfo& info);
  ~NativeSocket() override;

  // JS thread: event dispatch from iocp.cc.
  void DeliverData(std::unique_ptr<Op> op);
  void DeliverEnd();
  void DeliverError(int error, const char* syscall);
  void DeliverConnect(int error);
  void DeliverSendsDrained();
  // JS thread: WSASendDisconnect now; returns the Winsock error (0: done).
  int DoSendDisconnect(const char* data, size_t len, bool withData);
  void UpdateActive();
  void SetOwner(Napi::Object owner);

  std::shared_ptr<SocketCore> core;

 private:
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value ReadStart(const Napi::CallbackInfo& info);
  Napi::Value ReadStop(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value LocalAddress(const Napi::CallbackInfo& info);
  Napi::Value RemoteAddress(const Napi::CallbackInfo& info);
  Napi::Value Protocol(const Napi::CallbackInfo& info);
  Napi::Value CalleeData(const Napi::CallbackInfo& info);
  Napi::Value SetNoDelay(const Napi::CallbackInfo& info);
  Napi::Value SetKeepAlive(const Napi::CallbackInfo& info);
  Napi::Value Options(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  // disconnect.cc
  Napi::Value SendDisconnect(const Napi::CallbackInfo& info);
  Napi::Value RecvDisconnect(const Napi::CallbackInfo& info);

  Napi::FunctionReference disconnectCallback_;  // a sendDisconnect waiting for the sends
  Napi::ObjectReference owner_;                 // strong only while active (see UpdateActive)
  bool hasOwner_ = false;
  bool ownerStrong_ = false;
  bool streaming_ = false;  // readStart() ran and no end/error yet
  bool userRef_ = true;
  bool keeping_ = false;
};

// ---- connect.cc -------------------------------------------------------------
void InitConnect(Napi::Env env, Napi::Object exports);

// ---- handoff.cc: SOCKETs given to Node's TCP handle ---------------------------
// The SOCKET value as JS sees it (a Number: Windows handle values fit in 32
// bits, and Node's TCPWrap::Open takes an int), and back.
Napi::Value SocketToJs(Napi::Env env, SOCKET s);
bool SocketFromJs(const Napi::Value& v, SOCKET* out);
// Any thread. Prepares a connected SOCKET for libuv: cancels an inherited or
// own WSAEventSelect (libuv polls nothing; the event would only cost wake-ups),
// non-inheritable (TCP_NODELAY is net's: see handoff.cc). 0 or a Winsock error.
int PrepareForHandOff(SOCKET s);
void InitHandOff(Napi::Env env, Napi::Object exports);

// ---- listener.cc ------------------------------------------------------------
struct ListenerCore : std::enable_shared_from_this<ListenerCore> {
  std::shared_ptr<EnvState> env;
  SOCKET s = INVALID_SOCKET;
  std::shared_ptr<const ProtocolInfo> protocol;
  bool conditionalAccept = false;
  HANDLE event = nullptr;      // FD_ACCEPT (WSAEventSelect)
  HANDLE stopEvent = nullptr;  // ends the waiter thread
  std::thread waiter;          // waits for FD_ACCEPT and wakes JS (listener.cc)
  std::atomic<bool> wakePosted{false};
  // The last WSAAccept answered WSATRY_AGAIN (CF_DEFER): the head stays
  // until JS calls accept() again, so the watchdog does not wake JS for it.
  std::atomic<bool> deferredHead{false};
  std::atomic<uint64_t> watchdogWakes{0};  // diagnostics
  // A held accept: WSAAccept answering CF_ACCEPT for the deferred head, run
  // on this thread so the JS thread never waits for the TCP handshake
  // (docs/windows.md, "Does WSAAccept wait for the handshake?").
  std::thread acceptor;
  // The held accept's result, stored (heldSocket/heldError, then heldReady
  // with release order) before its event is queued. If queuing fails (out of
  // memory on the acceptor thread) the waiter's watchdog wakes JS, which
  // takes the result from here: a listener never keeps an accept in flight
  // for good. Taken exactly once (TakeHeld), by whichever comes first.
  std::atomic<bool> heldReady{false};
  SOCKET heldSocket = INVALID_SOCKET;
  int heldError = 0;
  bool TakeHeld(SOCKET* s, int* error);  // any thread
  bool acceptInFlight = false;           // JS thread
  bool heldHandOff = false;              // JS thread: the held accept's SOCKET goes to Node's TCP handle
  bool closed = false;                   // JS thread
  int acceptDepth = 0;                   // JS thread: WSAAccept calls on the stack
  bool closePending = false;             // JS thread: closed inside a condition function
  class NativeListener* wrap = nullptr;  // JS thread
  void Close();                          // JS thread, idempotent
  void CloseSocket();                    // JS thread: the deferred part of Close()
};

class NativeListener : public Napi::ObjectWrap<NativeListener> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NativeListener(const Napi::CallbackInfo& info);
  ~NativeListener() override;
  void DeliverAcceptable();
  void DeliverHeld();
  std::shared_ptr<ListenerCore> core;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Accept(const Napi::CallbackInfo& info);
  Napi::Value AcceptHeld(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Address(const Napi::CallbackInfo& info);
  Napi::Value Protocol(const Napi::CallbackInfo& info);
  Napi::Value ConditionalAccept(const Napi::CallbackInfo& info);
  void UpdateActive();

  Napi::ObjectReference owner_;
  bool started_ = false;
  bool userRef_ = true;
  bool keeping_ = false;
};

void InitListener(Napi::Env env, Napi::Object exports);

}  // namespace ws2

namespace ws2 {
// ---- qos.cc -----------------------------------------------------------------
Napi::Value QosToJs(Napi::Env env, const QOS* q);
void JsToQos(Napi::Value v, QOS* out, std::vector<char>* storage);
}  // namespace ws2
