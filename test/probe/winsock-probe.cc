// A raw ws2_32 probe: runs the call sequence of each conformance assertion
// (docs/winsock-probe.md numbers them 1-28) against the Winsock TCP/IP
// provider on 127.0.0.1 and prints one JSON record per assertion:
//   {"id":"4","observed":{"wsaaccept":"error:10061",...}}
// No Node, no addon code: this is what ws2_32 itself does, so the binding's
// choices on the paths it avoids can be checked against it.
//
// Outcome strings: "ok" (the call succeeded), "error:N" (WSAGetLastError),
// "eof" (recv returned 0), "bytes:N", "nothing" (not readable within the
// wait), "pending"/"connected" (a non-blocking connect's state).
//
// Nothing can hang: listeners and connects are non-blocking, every recv and
// accept waits in select() with a timeout first, and a watchdog thread ends
// the process (exit code 3, with a record saying where) if no step makes
// progress for 15 s.
//
// Builds with mingw-w64 (scripts/build-probe.sh) and MSVC
// (test/probe/CMakeLists.txt). Usage: winsock-probe.exe [--out FILE]
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#define _WINSOCK_DEPRECATED_NO_WARNINGS
#define _CRT_SECURE_NO_WARNINGS
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

// ---- output ---------------------------------------------------------------

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// One assertion's observations, in the order they were made.
class Record {
 public:
  explicit Record(const char* id) : id_(id) {}
  void Str(const char* key, const std::string& value) { Add(key, Quote(value)); }
  void Num(const char* key, long long value) { Add(key, std::to_string(value)); }
  void Bool(const char* key, bool value) { Add(key, value ? "true" : "false"); }
  std::string Json() const { return "{\"id\":" + Quote(id_) + ",\"observed\":{" + body_ + "}}"; }

 private:
  void Add(const char* key, const std::string& json) {
    if (!body_.empty()) body_ += ",";
    body_ += Quote(key) + ":" + json;
  }
  std::string id_;
  std::string body_;
};

FILE* g_out = nullptr;

void Emit(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputs("\n", stdout);
  std::fflush(stdout);
  if (g_out != nullptr) {
    std::fputs(line.c_str(), g_out);
    std::fputs("\n", g_out);
    std::fflush(g_out);
  }
}

// ---- watchdog -------------------------------------------------------------

std::atomic<ULONGLONG> g_progress{0};
std::atomic<const char*> g_current{"start"};

void Progress() { g_progress.store(GetTickCount64()); }

DWORD WINAPI Watchdog(LPVOID) {
  for (;;) {
    Sleep(200);
    if (GetTickCount64() - g_progress.load() > 15000) {
      Emit(std::string("{\"id\":") + Quote(g_current.load()) + ",\"error\":\"watchdog: no progress for 15 s\"}");
      ExitProcess(3);
    }
  }
}

// ---- small Winsock helpers --------------------------------------------------

std::string Err(int code) { return code == 0 ? "ok" : "error:" + std::to_string(code); }
std::string Result(int rc) { return rc == SOCKET_ERROR ? Err(WSAGetLastError()) : "ok"; }

// Every socket an assertion opens; the rest are closed when it ends.
class Sockets {
 public:
  ~Sockets() {
    for (SOCKET s : open_) {
      if (s != INVALID_SOCKET) closesocket(s);
    }
  }
  SOCKET Track(SOCKET s) {
    if (s != INVALID_SOCKET) open_.push_back(s);
    return s;
  }
  SOCKET Tcp() {
    return Track(WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT));
  }
  int Close(SOCKET s) {
    for (SOCKET& t : open_) {
      if (t == s) t = INVALID_SOCKET;
    }
    return closesocket(s);
  }

 private:
  std::vector<SOCKET> open_;
};

// WSAIoctl rather than ioctlsocket: its code is a DWORD, so FIONBIO (an
// unsigned constant) needs no sign conversion on either compiler.
void NonBlocking(SOCKET s, bool on) {
  u_long mode = on ? 1 : 0;
  DWORD bytes = 0;
  WSAIoctl(s, FIONBIO, &mode, sizeof mode, nullptr, 0, &bytes, nullptr, nullptr);
}

sockaddr_in Loopback(u_short port) {
  sockaddr_in a;
  std::memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

u_short LocalPort(SOCKET s) {
  sockaddr_in a;
  int len = sizeof a;
  std::memset(&a, 0, sizeof a);
  if (getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  return ntohs(a.sin_port);
}

u_short PeerPort(SOCKET s) {
  sockaddr_in a;
  int len = sizeof a;
  std::memset(&a, 0, sizeof a);
  if (getpeername(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  return ntohs(a.sin_port);
}

// select() for reading: 1 readable, 0 not within `ms`, SOCKET_ERROR when
// select itself failed (WSAGetLastError says why).
int ReadableState(SOCKET s, int ms) {
  fd_set r;
  FD_ZERO(&r);
  FD_SET(s, &r);
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  return select(0, &r, nullptr, nullptr, &tv);
}

bool Readable(SOCKET s, int ms) { return ReadableState(s, ms) == 1; }

// What one recv sees within `ms`. A failed select is "select-error:N", never
// "nothing" (which some Windows expectations are).
std::string RecvOutcome(SOCKET s, int ms) {
  Progress();
  int ready = ReadableState(s, ms);
  if (ready == SOCKET_ERROR) return "select-" + Err(WSAGetLastError());
  if (ready != 1) return "nothing";
  char buf[256];
  int n = recv(s, buf, sizeof buf, 0);
  if (n == SOCKET_ERROR) return Err(WSAGetLastError());
  if (n == 0) return "eof";
  return "bytes:" + std::to_string(n);
}

std::string SendOutcome(SOCKET s, const char* text) {
  return Result(send(s, text, static_cast<int>(std::strlen(text)), 0));
}

struct Listener {
  SOCKET s = INVALID_SOCKET;
  u_short port = 0;
  std::string option = "off";  // SO_CONDITIONAL_ACCEPT: "off", "ok" or "error:N"
};

// A non-blocking listener on 127.0.0.1, with SO_CONDITIONAL_ACCEPT set
// before listen() when `conditional`.
Listener Listen(Sockets& sockets, bool conditional) {
  Listener l;
  l.s = sockets.Tcp();
  if (conditional) {
    BOOL on = TRUE;
    l.option = Result(setsockopt(l.s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, reinterpret_cast<const char*>(&on), sizeof on));
  }
  sockaddr_in a = Loopback(0);
  bind(l.s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  listen(l.s, 8);
  NonBlocking(l.s, true);
  l.port = LocalPort(l.s);
  return l;
}

// A non-blocking connect, left in progress.
SOCKET StartConnect(Sockets& sockets, u_short port) {
  SOCKET c = sockets.Tcp();
  NonBlocking(c, true);
  sockaddr_in a = Loopback(port);
  connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
  return c;
}

// The state of a non-blocking connect after waiting up to `ms`.
std::string ConnectState(SOCKET c, int ms) {
  Progress();
  fd_set w, e;
  FD_ZERO(&w);
  FD_ZERO(&e);
  FD_SET(c, &w);
  FD_SET(c, &e);
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  int ready = select(0, nullptr, &w, &e, &tv);
  // A failed select is "select-error:N", never "pending" (a Windows expectation).
  if (ready == SOCKET_ERROR) return "select-" + Err(WSAGetLastError());
  if (ready != 1) return "pending";
  if (FD_ISSET(c, &w)) return "connected";
  int err = 0;
  int len = sizeof err;
  getsockopt(c, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err), &len);
  return Err(err);
}

// What the condition function was given, and what it answers.
struct Condition {
  int verdict = CF_ACCEPT;
  int calls = 0;
  std::vector<u_short> offered;  // lpCallerId ports, one per call
  DWORD_PTR callback = 0;
  std::string callerIdLen, callerData, sqos, gqos, calleeIdLen, calleeData;
  sockaddr_in callerId{}, calleeId{};
  bool writeCallee = false;  // write into lpCalleeData when it offers room
  int calleeWritten = 0;
};
Condition g_cond;
bool g_wine = false;

std::string Classify(const WSABUF* b) {
  if (b == nullptr) return "null";
  if (b->len == 0) return "len0";
  return b->buf == nullptr ? "len>0,buf-null" : "len>0";
}

int CALLBACK ConditionProc(LPWSABUF callerId, LPWSABUF callerData, LPQOS sqos, LPQOS gqos,
                           LPWSABUF calleeId, LPWSABUF calleeData, GROUP* group, DWORD_PTR callback) {
  Progress();
  Condition& c = g_cond;
  c.calls++;
  c.callback = callback;
  if (group != nullptr) *group = 0;
  c.callerIdLen = callerId == nullptr ? "null" : std::to_string(callerId->len);
  if (callerId != nullptr && callerId->buf != nullptr && callerId->len >= sizeof(sockaddr_in)) {
    std::memcpy(&c.callerId, callerId->buf, sizeof(sockaddr_in));
    c.offered.push_back(ntohs(c.callerId.sin_port));
  }
  c.calleeIdLen = calleeId == nullptr ? "null" : std::to_string(calleeId->len);
  if (calleeId != nullptr && calleeId->buf != nullptr && calleeId->len >= sizeof(sockaddr_in)) {
    std::memcpy(&c.calleeId, calleeId->buf, sizeof(sockaddr_in));
  }
  c.callerData = Classify(callerData);
  c.sqos = sqos == nullptr ? "null" : "set";
  c.gqos = gqos == nullptr ? "null" : "set";
  c.calleeData = Classify(calleeData);
  // Under Wine lpCalleeData is an uninitialised WSABUF (garbage len and
  // pointer): writing there would corrupt memory, so only Windows writes.
  if (c.writeCallee && !g_wine && calleeData != nullptr && calleeData->buf != nullptr && calleeData->len > 0) {
    static const char kSecret[] = "callee-secret";
    ULONG n = calleeData->len < sizeof kSecret - 1 ? calleeData->len : static_cast<ULONG>(sizeof kSecret - 1);
    std::memcpy(calleeData->buf, kSecret, n);
    calleeData->len = n;
    c.calleeWritten = static_cast<int>(n);
  }
  return c.verdict;
}

// WSAAccept with the condition answering `verdict`; "ok" or "error:N".
std::string Accept(SOCKET listener, int verdict, SOCKET* accepted = nullptr, Sockets* sockets = nullptr) {
  Progress();
  g_cond.verdict = verdict;
  Readable(listener, 2000);
  sockaddr_in a;
  int len = sizeof a;
  SOCKET s = WSAAccept(listener, reinterpret_cast<sockaddr*>(&a), &len, ConditionProc, 0xC0FFEE);
  if (s == INVALID_SOCKET) return Err(WSAGetLastError());
  if (sockets != nullptr) sockets->Track(s);
  if (accepted != nullptr) *accepted = s;
  else if (sockets == nullptr) closesocket(s);
  return "ok";
}

// A plain accept() on the non-blocking listener after waiting up to `ms`:
// "port:N" (the peer's port) or "error:N".
std::string PlainAccept(Sockets& sockets, SOCKET listener, int ms) {
  Progress();
  Readable(listener, ms);
  SOCKET s = sockets.Track(accept(listener, nullptr, nullptr));
  if (s == INVALID_SOCKET) return Err(WSAGetLastError());
  return "port:" + std::to_string(PeerPort(s));
}

struct Pair {
  SOCKET client = INVALID_SOCKET;
  SOCKET server = INVALID_SOCKET;
};

// A connected pair through a plain (unconditional) listener.
Pair Connected(Sockets& sockets) {
  Listener l = Listen(sockets, false);
  Pair p;
  p.client = StartConnect(sockets, l.port);
  ConnectState(p.client, 2000);
  Readable(l.s, 2000);
  p.server = sockets.Track(accept(l.s, nullptr, nullptr));
  sockets.Close(l.s);
  return p;
}

struct NetEvents {
  long bits = 0;
  int closeError = -1;
};

// Accumulates network events until one in `until` is seen or `ms` pass.
NetEvents WaitEvents(SOCKET s, WSAEVENT ev, long until, int ms) {
  Progress();
  NetEvents out;
  ULONGLONG deadline = GetTickCount64() + static_cast<ULONGLONG>(ms);
  for (;;) {
    ULONGLONG now = GetTickCount64();
    DWORD left = now >= deadline ? 0 : static_cast<DWORD>(deadline - now);
    WSAWaitForMultipleEvents(1, &ev, FALSE, left, FALSE);
    WSANETWORKEVENTS ne;
    std::memset(&ne, 0, sizeof ne);
    if (WSAEnumNetworkEvents(s, ev, &ne) == 0) {
      out.bits |= ne.lNetworkEvents;
      if (ne.lNetworkEvents & FD_CLOSE) out.closeError = ne.iErrorCode[FD_CLOSE_BIT];
    }
    if ((out.bits & until) != 0 || left == 0) return out;
  }
}

void Sleepms(int ms) {
  Progress();
  Sleep(static_cast<DWORD>(ms));
}

// ---- the assertions ---------------------------------------------------------

Record Env() {
  Record r("env");
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  FARPROC p = ntdll == nullptr ? nullptr : GetProcAddress(ntdll, "wine_get_version");
  g_wine = p != nullptr;
  std::string version = "windows";
  if (p != nullptr) {
    using WineVersion = const char*(__cdecl*)();
    version = std::string("wine ") + reinterpret_cast<WineVersion>(reinterpret_cast<void*>(p))();
  } else {
    OSVERSIONINFOW v;
    std::memset(&v, 0, sizeof v);
    v.dwOSVersionInfoSize = sizeof v;
    // GetVersionEx lies without a manifest; RtlGetVersion does not.
    using RtlGetVersion = LONG(WINAPI*)(OSVERSIONINFOW*);
    FARPROC rtl = ntdll == nullptr ? nullptr : GetProcAddress(ntdll, "RtlGetVersion");
    if (rtl != nullptr && reinterpret_cast<RtlGetVersion>(reinterpret_cast<void*>(rtl))(&v) == 0) {
      version += " " + std::to_string(v.dwMajorVersion) + "." + std::to_string(v.dwMinorVersion) + "." +
                 std::to_string(v.dwBuildNumber);
    }
  }
  r.Str("platform", version);
  return r;
}

// 1-3: CF_ACCEPT, the condition function's arguments, callee data.
void AcceptArguments(Record& r1, Record& r2, Record& r3) {
  Sockets sockets;
  Listener l = Listen(sockets, false);
  SOCKET c = StartConnect(sockets, l.port);
  r1.Str("client_before_wsaaccept", ConnectState(c, 2000));
  g_cond = Condition();
  g_cond.writeCallee = true;
  g_cond.verdict = CF_ACCEPT;
  Readable(l.s, 2000);
  sockaddr_in addr;
  std::memset(&addr, 0, sizeof addr);
  int addrlen = sizeof addr;
  SOCKET s = sockets.Track(WSAAccept(l.s, reinterpret_cast<sockaddr*>(&addr), &addrlen, ConditionProc, 0xC0FFEE));
  r1.Str("wsaaccept", s == INVALID_SOCKET ? Err(WSAGetLastError()) : "ok");
  r1.Num("condition_calls", g_cond.calls);
  r1.Bool("callback_data_unchanged", g_cond.callback == 0xC0FFEE);
  r1.Str("caller_id_len", g_cond.callerIdLen);
  r1.Bool("caller_id_is_peer", s != INVALID_SOCKET && ntohs(g_cond.callerId.sin_port) == PeerPort(s) &&
                                   ntohs(g_cond.callerId.sin_port) == LocalPort(c) &&
                                   g_cond.callerId.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  r1.Bool("addr_out_is_peer", ntohs(addr.sin_port) == LocalPort(c));
  r1.Str("callee_id_len", g_cond.calleeIdLen);
  r1.Bool("callee_id_is_listener", ntohs(g_cond.calleeId.sin_port) == l.port &&
                                       g_cond.calleeId.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  r2.Str("caller_data", g_cond.callerData);
  r2.Str("sqos", g_cond.sqos);
  r2.Str("gqos", g_cond.gqos);
  r2.Str("callee_data", g_cond.calleeData);
  r3.Str("callee_data", g_cond.calleeData);
  r3.Str("callee_written", g_wine && g_cond.calleeData.rfind("len>0", 0) == 0 ? "skipped:uninitialised"
                                                                              : std::to_string(g_cond.calleeWritten));
  r3.Str("client_recv", RecvOutcome(c, 300));
}

// 4: CF_REJECT, then the request is not offered again.
Record Reject() {
  Record r("4");
  Sockets sockets;
  Listener l = Listen(sockets, false);
  StartConnect(sockets, l.port);
  g_cond = Condition();
  r.Str("wsaaccept", Accept(l.s, CF_REJECT));
  r.Str("next_accept", PlainAccept(sockets, l.s, 300));
  return r;
}

// 5: without SO_CONDITIONAL_ACCEPT a blocking connect returns before WSAAccept.
Record ConnectBeforeDecision() {
  Record r("5");
  Sockets sockets;
  Listener l = Listen(sockets, false);
  g_cond = Condition();
  SOCKET c = sockets.Tcp();
  sockaddr_in a = Loopback(l.port);
  r.Str("blocking_connect", Result(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a)));
  r.Num("condition_calls_before", g_cond.calls);
  r.Str("send", SendOutcome(c, "hello"));
  SOCKET s = INVALID_SOCKET;
  r.Str("wsaaccept", Accept(l.s, CF_ACCEPT, &s, &sockets));
  r.Str("server_recv", s == INVALID_SOCKET ? "no-socket" : RecvOutcome(s, 2000));
  return r;
}

// 6: after CF_REJECT (option off) what the already connected client sees.
Record RejectTeardown() {
  Record r("6");
  {
    Sockets sockets;
    Listener l = Listen(sockets, false);
    SOCKET c = StartConnect(sockets, l.port);
    r.Str("idle_client_connect", ConnectState(c, 2000));
    g_cond = Condition();
    r.Str("idle_wsaaccept", Accept(l.s, CF_REJECT));
    r.Str("idle_recv", RecvOutcome(c, 2000));
    r.Str("idle_recv_again", RecvOutcome(c, 300));
  }
  {
    Sockets sockets;
    Listener l = Listen(sockets, false);
    SOCKET c = StartConnect(sockets, l.port);
    ConnectState(c, 2000);
    r.Str("sender_send_before", SendOutcome(c, "hi"));
    Sleepms(50);
    g_cond = Condition();
    r.Str("sender_wsaaccept", Accept(l.s, CF_REJECT));
    Sleepms(200);
    r.Str("sender_send_after", SendOutcome(c, "more"));
    r.Str("sender_recv", RecvOutcome(c, 2000));
  }
  return r;
}

// 7: SO_CONDITIONAL_ACCEPT before and after listen(), read back.
Record ConditionalOption() {
  Record r("7");
  Sockets sockets;
  BOOL on = TRUE;
  BOOL off = FALSE;
  auto get = [](SOCKET s) {
    BOOL v = FALSE;
    int len = sizeof v;
    int rc = getsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, reinterpret_cast<char*>(&v), &len);
    return rc == SOCKET_ERROR ? Err(WSAGetLastError()) : "value:" + std::to_string(v);
  };
  SOCKET fresh = sockets.Tcp();
  r.Str("get_default", get(fresh));
  SOCKET s = sockets.Tcp();
  r.Str("set_before_listen", Result(setsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, reinterpret_cast<const char*>(&on), sizeof on)));
  r.Str("get_before_listen", get(s));
  sockaddr_in a = Loopback(0);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  r.Str("listen", Result(listen(s, 8)));
  r.Str("get_after_listen", get(s));
  r.Str("set_off_after_listen", Result(setsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, reinterpret_cast<const char*>(&off), sizeof off)));
  SOCKET late = sockets.Tcp();
  sockaddr_in b = Loopback(0);
  bind(late, reinterpret_cast<sockaddr*>(&b), sizeof b);
  listen(late, 8);
  r.Str("set_on_after_listen", Result(setsockopt(late, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, reinterpret_cast<const char*>(&on), sizeof on)));
  r.Str("get_late", get(late));
  return r;
}

// 8: with the option on, what a rejected client's connect sees.
Record RejectHeld() {
  Record r("8");
  Sockets sockets;
  Listener l = Listen(sockets, true);
  r.Str("option", l.option);
  SOCKET c = StartConnect(sockets, l.port);
  r.Bool("listener_readable", Readable(l.s, 2000));
  r.Str("client_before_decision", ConnectState(c, 300));
  g_cond = Condition();
  r.Str("wsaaccept", Accept(l.s, CF_REJECT));
  std::string after = ConnectState(c, 3000);
  r.Str("client_after_reject", after);
  r.Str("client_recv", after == "connected" ? RecvOutcome(c, 2000) : "not-connected");
  return r;
}

// 9: CF_DEFER keeps the request at the head of the backlog.
Record Defer() {
  Record r("9");
  Sockets sockets;
  Listener l = Listen(sockets, false);
  SOCKET c1 = StartConnect(sockets, l.port);
  ConnectState(c1, 2000);
  Readable(l.s, 2000);
  SOCKET c2 = StartConnect(sockets, l.port);
  ConnectState(c2, 2000);
  Sleepms(50);
  g_cond = Condition();
  r.Str("first_defer", Accept(l.s, CF_DEFER));
  r.Bool("readable_after_defer", Readable(l.s, 300));
  r.Str("second_defer", Accept(l.s, CF_DEFER));
  SOCKET a1 = INVALID_SOCKET;
  r.Str("then_accept", Accept(l.s, CF_ACCEPT, &a1, &sockets));
  r.Bool("offered_first_again", g_cond.offered.size() == 3 && g_cond.offered[0] == LocalPort(c1) &&
                                    g_cond.offered[1] == LocalPort(c1) && g_cond.offered[2] == LocalPort(c1));
  r.Bool("accepted_first", a1 != INVALID_SOCKET && PeerPort(a1) == LocalPort(c1));
  SOCKET a2 = INVALID_SOCKET;
  r.Str("next_accept", Accept(l.s, CF_ACCEPT, &a2, &sockets));
  r.Bool("next_is_second", a2 != INVALID_SOCKET && PeerPort(a2) == LocalPort(c2));
  // A plain accept() after a defer gets the deferred request too.
  SOCKET c3 = StartConnect(sockets, l.port);
  ConnectState(c3, 2000);
  g_cond = Condition();
  r.Str("defer_before_plain", Accept(l.s, CF_DEFER));
  std::string plain = PlainAccept(sockets, l.s, 2000);
  r.Bool("plain_accept_gets_deferred", plain == "port:" + std::to_string(LocalPort(c3)));
  return r;
}

// 9.held: with the option on, the deferred client's connect waits for the decision.
Record DeferHeld() {
  Record r("9.held");
  Sockets sockets;
  Listener l = Listen(sockets, true);
  r.Str("option", l.option);
  SOCKET c = StartConnect(sockets, l.port);
  r.Bool("listener_readable", Readable(l.s, 2000));
  g_cond = Condition();
  r.Str("defer", Accept(l.s, CF_DEFER));
  r.Str("client_while_deferred", ConnectState(c, 300));
  r.Str("accept", Accept(l.s, CF_ACCEPT, nullptr, &sockets));
  r.Str("client_after_accept", ConnectState(c, 2000));
  return r;
}

// 9.withdrawn: the client gives up (FIN or RST) while deferred, option off and on.
Record Withdrawn() {
  Record r("9.withdrawn");
  for (int conditional = 0; conditional < 2; conditional++) {
    // With the option on the caller is still in SYN-SENT while deferred
    // (Windows): its closesocket is the same with or without linger 0, so
    // that side runs once ("on_close"); off, FIN and RST are two cases.
    for (int abortive = 0; abortive < (conditional ? 1 : 2); abortive++) {
      std::string key = std::string(conditional ? "on_close" : abortive ? "off_rst" : "off_fin");
      Sockets sockets;
      Listener l = Listen(sockets, conditional != 0);
      SOCKET c = StartConnect(sockets, l.port);
      Readable(l.s, 2000);
      if (!conditional) ConnectState(c, 2000);
      g_cond = Condition();
      std::string deferred = Accept(l.s, CF_DEFER);
      if (abortive) {
        linger lg{1, 0};
        setsockopt(c, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&lg), sizeof lg);
      }
      sockets.Close(c);
      Sleepms(200);
      SOCKET s = INVALID_SOCKET;
      std::string accepted = Accept(l.s, CF_ACCEPT, &s, &sockets);
      r.Str((key + "_defer").c_str(), deferred);
      r.Str((key + "_accept").c_str(), accepted);
      r.Str((key + "_recv").c_str(), s == INVALID_SOCKET ? "no-socket" : RecvOutcome(s, 1000));
      r.Str((key + "_next_accept").c_str(), PlainAccept(sockets, l.s, 200));
    }
  }
  return r;
}

// 10: a verdict outside {CF_ACCEPT, CF_REJECT, CF_DEFER}.
Record InvalidVerdict() {
  Record r("10");
  Sockets sockets;
  Listener l = Listen(sockets, false);
  SOCKET c = StartConnect(sockets, l.port);
  ConnectState(c, 2000);
  g_cond = Condition();
  r.Str("wsaaccept", Accept(l.s, 7));
  r.Num("condition_calls", g_cond.calls);
  r.Str("client_recv", RecvOutcome(c, 500));
  r.Str("next_accept", PlainAccept(sockets, l.s, 300));
  return r;
}

// 11: bad arguments to WSAAccept.
Record BadArguments() {
  Record r("11");
  for (int addrlenIn : {0, 4}) {
    std::string key = "addrlen" + std::to_string(addrlenIn);
    Sockets sockets;
    Listener l = Listen(sockets, false);
    SOCKET c = StartConnect(sockets, l.port);
    ConnectState(c, 2000);
    Readable(l.s, 2000);
    g_cond = Condition();
    sockaddr_in addr;
    int addrlen = addrlenIn;
    SOCKET s = sockets.Track(WSAAccept(l.s, reinterpret_cast<sockaddr*>(&addr), &addrlen, ConditionProc, 0));
    r.Str((key + "_wsaaccept").c_str(), s == INVALID_SOCKET ? Err(WSAGetLastError()) : "ok");
    r.Num((key + "_after").c_str(), addrlen);
    r.Num((key + "_condition_calls").c_str(), g_cond.calls);
    r.Str((key + "_client_recv").c_str(), RecvOutcome(c, 2000));
    std::string next = PlainAccept(sockets, l.s, 300);
    r.Str((key + "_next_accept").c_str(), next == "port:" + std::to_string(LocalPort(c)) ? "same-request" : next);
  }
  Sockets sockets;
  g_cond = Condition();
  SOCKET unlistened = sockets.Tcp();
  int len = sizeof(sockaddr_in);
  sockaddr_in addr;
  // The error only when the call failed (WSAGetLastError after a success says nothing).
  SOCKET got = sockets.Track(WSAAccept(unlistened, reinterpret_cast<sockaddr*>(&addr), &len, ConditionProc, 0));
  r.Str("not_listening", got == INVALID_SOCKET ? Err(WSAGetLastError()) : "ok");
  len = sizeof(sockaddr_in);
  got = sockets.Track(WSAAccept(static_cast<SOCKET>(0xFFFC), reinterpret_cast<sockaddr*>(&addr), &len, ConditionProc, 0));
  r.Str("not_a_socket", got == INVALID_SOCKET ? Err(WSAGetLastError()) : "ok");
  return r;
}

// 12: WSAConnect with caller data, and with a QOS.
Record ConnectData() {
  Record r("12");
  Sockets sockets;
  Listener l = Listen(sockets, false);
  SOCKET c = sockets.Tcp();
  sockaddr_in a = Loopback(l.port);
  char callerBytes[] = "caller-data";
  WSABUF caller{static_cast<ULONG>(sizeof callerBytes - 1), callerBytes};
  char calleeBytes[64];
  WSABUF callee{static_cast<ULONG>(sizeof calleeBytes), calleeBytes};
  r.Str("wsaconnect", Result(WSAConnect(c, reinterpret_cast<sockaddr*>(&a), sizeof a, &caller, &callee, nullptr, nullptr)));
  r.Num("callee_len_after", static_cast<long long>(callee.len));
  r.Str("connected", PeerPort(c) == l.port ? "yes" : "no");
  std::string plain = PlainAccept(sockets, l.s, 1000);
  r.Str("server_accept", plain.rfind("port:", 0) == 0 ? "ok" : plain);
  SOCKET c2 = sockets.Tcp();
  QOS qos;
  std::memset(&qos, 0, sizeof qos);
  qos.SendingFlowspec.TokenRate = 100000000;
  qos.SendingFlowspec.PeakBandwidth = 100000000;
  qos.SendingFlowspec.ServiceType = SERVICETYPE_GUARANTEED;
  qos.ReceivingFlowspec.ServiceType = SERVICETYPE_NOTRAFFIC;
  qos.SendingFlowspec.TokenBucketSize = QOS_NOT_SPECIFIED;
  qos.SendingFlowspec.Latency = QOS_NOT_SPECIFIED;
  qos.SendingFlowspec.DelayVariation = QOS_NOT_SPECIFIED;
  qos.SendingFlowspec.MaxSduSize = QOS_NOT_SPECIFIED;
  qos.SendingFlowspec.MinimumPolicedSize = QOS_NOT_SPECIFIED;
  r.Str("wsaconnect_sqos", Result(WSAConnect(c2, reinterpret_cast<sockaddr*>(&a), sizeof a, nullptr, nullptr, &qos, nullptr)));
  return r;
}

// 12 needs the server's view of in-band bytes: done with a pair of its own.
void ConnectDataInBand(Record& r) {
  Sockets sockets;
  Listener l = Listen(sockets, false);
  SOCKET c = sockets.Tcp();
  sockaddr_in a = Loopback(l.port);
  char callerBytes[] = "caller-data";
  WSABUF caller{static_cast<ULONG>(sizeof callerBytes - 1), callerBytes};
  int rc = WSAConnect(c, reinterpret_cast<sockaddr*>(&a), sizeof a, &caller, nullptr, nullptr, nullptr);
  r.Str("inband_wsaconnect", rc == SOCKET_ERROR ? Err(WSAGetLastError()) : "ok");
  // Refused (WSAEPROTONOSUPPORT, as WSAConnect's page documents): no connection to read from.
  if (rc == SOCKET_ERROR) {
    r.Str("server_recv", "no-connection");
    return;
  }
  Readable(l.s, 1000);
  SOCKET s = sockets.Track(accept(l.s, nullptr, nullptr));
  r.Str("server_recv", s == INVALID_SOCKET ? "no-socket" : RecvOutcome(s, 300));
}

// 13: WSASendDisconnect(NULL).
Record SendDisconnectNull() {
  Record r("13");
  Sockets sockets;
  Pair p = Connected(sockets);
  WSAEVENT ev = WSACreateEvent();
  WSAEventSelect(p.server, ev, FD_READ | FD_CLOSE);
  r.Str("wsasenddisconnect", Result(WSASendDisconnect(p.client, nullptr)));
  NetEvents ne = WaitEvents(p.server, ev, FD_CLOSE, 2000);
  r.Bool("peer_fd_close", (ne.bits & FD_CLOSE) != 0);
  r.Num("peer_fd_close_error", ne.closeError);
  r.Str("peer_recv", RecvOutcome(p.server, 1000));
  r.Str("peer_recv_again", RecvOutcome(p.server, 300));
  r.Str("local_send", SendOutcome(p.client, "late"));
  r.Str("again", Result(WSASendDisconnect(p.client, nullptr)));
  WSACloseEvent(ev);
  return r;
}

// 14: WSASendDisconnect with data.
Record SendDisconnectData() {
  Record r("14");
  Sockets sockets;
  Pair p = Connected(sockets);
  char bytes[] = "total=42";
  WSABUF data{static_cast<ULONG>(sizeof bytes - 1), bytes};
  r.Str("wsasenddisconnect", Result(WSASendDisconnect(p.client, &data)));
  r.Str("peer_recv", RecvOutcome(p.server, 1000));
  r.Str("peer_recv_again", RecvOutcome(p.server, 300));
  char got[64];
  WSABUF in{static_cast<ULONG>(sizeof got), got};
  r.Str("peer_wsarecvdisconnect", Result(WSARecvDisconnect(p.server, &in)));
  r.Num("peer_wsarecvdisconnect_len", static_cast<long long>(in.len));
  r.Str("fallback_shutdown", Result(shutdown(p.client, SD_SEND)));
  return r;
}

// 15: the Disconnect calls on an unconnected socket, and IOCP completions.
Record Unconnected() {
  Record r("15");
  Sockets sockets;
  SOCKET s = sockets.Tcp();
  HANDLE port = CreateIoCompletionPort(reinterpret_cast<HANDLE>(s), nullptr, 1, 0);
  r.Str("send_unconnected", Result(WSASendDisconnect(s, nullptr)));
  r.Str("recv_unconnected", Result(WSARecvDisconnect(s, nullptr)));
  auto completion = [](HANDLE iocp) {
    DWORD n = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* ov = nullptr;
    BOOL ok = GetQueuedCompletionStatus(iocp, &n, &key, &ov, 200);
    if (!ok && ov == nullptr) return std::string(GetLastError() == WAIT_TIMEOUT ? "none" : Err(static_cast<int>(GetLastError())));
    return std::string("completion");
  };
  r.Str("iocp_unconnected", completion(port));
  Pair p = Connected(sockets);
  HANDLE port2 = CreateIoCompletionPort(reinterpret_cast<HANDLE>(p.client), nullptr, 2, 0);
  r.Str("send_connected", Result(WSASendDisconnect(p.client, nullptr)));
  r.Str("recv_connected", Result(WSARecvDisconnect(p.client, nullptr)));
  r.Str("iocp_connected", completion(port2));
  sockets.Close(s);
  sockets.Close(p.client);
  CloseHandle(port);
  CloseHandle(port2);
  return r;
}

// 16: WSARecvDisconnect(NULL) with nothing queued.
Record RecvDisconnectNull() {
  Record r("16");
  Sockets sockets;
  Pair p = Connected(sockets);
  WSAEVENT ev = WSACreateEvent();
  WSAEventSelect(p.client, ev, FD_READ | FD_CLOSE);
  r.Str("wsarecvdisconnect", Result(WSARecvDisconnect(p.server, nullptr)));
  char buf[16];
  r.Str("local_recv", Result(recv(p.server, buf, sizeof buf, 0)));
  NetEvents quiet = WaitEvents(p.client, ev, FD_CLOSE, 300);
  r.Bool("peer_fd_close", (quiet.bits & FD_CLOSE) != 0);
  r.Str("local_send", SendOutcome(p.server, "x"));
  r.Str("peer_recv", RecvOutcome(p.client, 1000));
  WSACloseEvent(ev);
  return r;
}

// 17: WSARecvDisconnect with unread data, or with data arriving afterwards.
Record RecvDisconnectReset() {
  Record r("17");
  {
    Sockets sockets;
    Pair p = Connected(sockets);
    SendOutcome(p.client, "unread");
    Readable(p.server, 1000);
    r.Str("unread_wsarecvdisconnect", Result(WSARecvDisconnect(p.server, nullptr)));
    Sleepms(200);
    r.Str("unread_peer_send", SendOutcome(p.client, "more"));
    r.Str("unread_peer_recv", RecvOutcome(p.client, 500));
    Sleepms(100);
    r.Str("unread_peer_send_again", SendOutcome(p.client, "more"));
  }
  {
    Sockets sockets;
    Pair p = Connected(sockets);
    r.Str("later_wsarecvdisconnect", Result(WSARecvDisconnect(p.server, nullptr)));
    r.Str("later_peer_send", SendOutcome(p.client, "late"));
    r.Str("later_peer_recv", RecvOutcome(p.client, 500));
    Sleepms(100);
    r.Str("later_peer_send_again", SendOutcome(p.client, "late"));
  }
  return r;
}

// 18: recv after the peer's graceful close, repeated.
Record RecvAfterGraceful() {
  Record r("18");
  Sockets sockets;
  Pair p = Connected(sockets);
  sockets.Close(p.server);
  r.Str("recv1", RecvOutcome(p.client, 2000));
  r.Str("recv2", RecvOutcome(p.client, 300));
  r.Str("recv3", RecvOutcome(p.client, 300));
  return r;
}

// 19 through WSAAsyncSelect: the same sequence, the events as window messages.
constexpr UINT kSelectMsg = WM_APP + 1;

NetEvents PumpMessages(HWND w, int ms) {
  Progress();
  NetEvents out;
  ULONGLONG deadline = GetTickCount64() + static_cast<ULONGLONG>(ms);
  for (;;) {
    MSG msg;
    while (PeekMessageW(&msg, w, kSelectMsg, kSelectMsg, PM_REMOVE)) {
      long ev = static_cast<long>(WSAGETSELECTEVENT(msg.lParam));
      out.bits |= ev;
      if (ev & FD_CLOSE) out.closeError = WSAGETSELECTERROR(msg.lParam);
    }
    ULONGLONG now = GetTickCount64();
    if (now >= deadline) return out;
    MsgWaitForMultipleObjects(0, nullptr, FALSE, static_cast<DWORD>(deadline - now), QS_ALLINPUT);
  }
}

void CloseWithUnreadAsync(Record& r) {
  WNDCLASSW wc;
  std::memset(&wc, 0, sizeof wc);
  wc.lpfnWndProc = DefWindowProcW;
  wc.hInstance = GetModuleHandleW(nullptr);
  wc.lpszClassName = L"winsock-probe";
  RegisterClassW(&wc);
  HWND w = CreateWindowExW(0, L"winsock-probe", L"", 0, 0, 0, 0, 0, HWND_MESSAGE, nullptr, wc.hInstance, nullptr);
  r.Bool("async_window", w != nullptr);
  if (w == nullptr) return;
  Sockets sockets;
  Pair p = Connected(sockets);
  WSAAsyncSelect(p.server, w, kSelectMsg, FD_READ | FD_CLOSE);
  PumpMessages(w, 50);
  SendOutcome(p.client, "data");
  sockets.Close(p.client);
  Sleepms(300);
  NetEvents before = PumpMessages(w, 200);
  r.Bool("async_fd_read", (before.bits & FD_READ) != 0);
  r.Bool("async_fd_close_while_unread", (before.bits & FD_CLOSE) != 0);
  r.Num("async_fd_close_error", before.closeError);
  char buf[16];
  int n = recv(p.server, buf, sizeof buf, 0);
  r.Str("async_recv", n == SOCKET_ERROR ? Err(WSAGetLastError()) : "bytes:" + std::to_string(n));
  NetEvents after = PumpMessages(w, 300);
  r.Bool("async_fd_read_after_read", (after.bits & FD_READ) != 0);
  r.Bool("async_fd_close_after_read", (after.bits & FD_CLOSE) != 0);
  WSAAsyncSelect(p.server, w, 0, 0);
  DestroyWindow(w);
}

// 19: FD_CLOSE while unread data remains, and FD_READ re-arming.
Record CloseWithUnread() {
  Record r("19");
  Sockets sockets;
  Pair p = Connected(sockets);
  WSAEVENT ev = WSACreateEvent();
  WSAEventSelect(p.server, ev, FD_READ | FD_CLOSE);
  WaitEvents(p.server, ev, 0, 50);  // nothing yet; clears any stale record
  SendOutcome(p.client, "data");
  sockets.Close(p.client);
  Sleepms(300);
  NetEvents before = WaitEvents(p.server, ev, 0, 200);
  r.Bool("fd_read", (before.bits & FD_READ) != 0);
  r.Bool("fd_close_while_unread", (before.bits & FD_CLOSE) != 0);
  r.Num("fd_close_error", before.closeError);
  char buf[16];
  int n = recv(p.server, buf, sizeof buf, 0);
  r.Str("recv", n == SOCKET_ERROR ? Err(WSAGetLastError()) : "bytes:" + std::to_string(n));
  NetEvents after = WaitEvents(p.server, ev, 0, 300);
  r.Bool("fd_read_after_read", (after.bits & FD_READ) != 0);
  r.Bool("fd_close_after_read", (after.bits & FD_CLOSE) != 0);
  r.Str("recv_again", RecvOutcome(p.server, 300));
  WSACloseEvent(ev);
  CloseWithUnreadAsync(r);
  return r;
}

void Abortive(SOCKET s) {
  linger lg{1, 0};
  setsockopt(s, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&lg), sizeof lg);
}

// 20: the peer closes with SO_LINGER {1,0}.
Record AbortiveClose() {
  Record r("20");
  {
    Sockets sockets;
    Pair p = Connected(sockets);
    WSAOVERLAPPED ov;
    std::memset(&ov, 0, sizeof ov);
    ov.hEvent = WSACreateEvent();
    char buf[64];
    WSABUF b{sizeof buf, buf};
    DWORD got = 0, flags = 0;
    int rc = WSARecv(p.client, &b, 1, &got, &flags, &ov, nullptr);
    r.Str("overlapped_post", rc == 0 ? "completed" : Err(WSAGetLastError()));
    Abortive(p.server);
    sockets.Close(p.server);
    Progress();
    WaitForSingleObject(ov.hEvent, 2000);
    DWORD n = 0;
    BOOL ok = GetOverlappedResult(reinterpret_cast<HANDLE>(p.client), &ov, &n, FALSE);
    r.Str("overlapped_result", ok ? "bytes:" + std::to_string(n) : "error:" + std::to_string(GetLastError()));
    BOOL wok = WSAGetOverlappedResult(p.client, &ov, &n, FALSE, &flags);
    r.Str("overlapped_wsa_result", wok ? "bytes:" + std::to_string(n) : Err(WSAGetLastError()));
    r.Str("recv_after", RecvOutcome(p.client, 300));
    WSACloseEvent(ov.hEvent);
  }
  {
    Sockets sockets;
    Pair p = Connected(sockets);
    WSAEVENT ev = WSACreateEvent();
    WSAEventSelect(p.client, ev, FD_READ | FD_CLOSE);
    Abortive(p.server);
    sockets.Close(p.server);
    NetEvents ne = WaitEvents(p.client, ev, FD_CLOSE, 2000);
    r.Bool("fd_close", (ne.bits & FD_CLOSE) != 0);
    r.Num("fd_close_error", ne.closeError);
    r.Str("recv1", RecvOutcome(p.client, 1000));
    r.Str("recv2", RecvOutcome(p.client, 300));
    int err = -1;
    int len = sizeof err;
    getsockopt(p.client, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err), &len);
    r.Num("so_error", err);
    WSACloseEvent(ev);
  }
  return r;
}

std::string Hex(DWORD v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

// 21: WSAEnumProtocols service flags.
Record Protocols() {
  Record r("21");
  DWORD size = 0;
  WSAEnumProtocolsW(nullptr, nullptr, &size);
  std::vector<char> storage(size + sizeof(WSAPROTOCOL_INFOW));
  auto* infos = reinterpret_cast<WSAPROTOCOL_INFOW*>(storage.data());
  int n = WSAEnumProtocolsW(nullptr, infos, &size);
  r.Bool("enumerated", n > 0);
  std::string tcp4 = "absent", tcp6 = "absent", udp4 = "absent";
  bool connectData = false, disconnectData = false;
  for (int i = 0; i < n; i++) {
    const WSAPROTOCOL_INFOW& p = infos[i];
    DWORD flags = p.dwServiceFlags1 & ~static_cast<DWORD>(XP1_QOS_SUPPORTED);
    if (p.iSocketType == SOCK_STREAM && p.iProtocol == IPPROTO_TCP) {
      if (p.iAddressFamily == AF_INET && tcp4 == "absent") tcp4 = Hex(flags);
      if (p.iAddressFamily == AF_INET6 && tcp6 == "absent") tcp6 = Hex(flags);
      connectData = connectData || (p.dwServiceFlags1 & XP1_CONNECT_DATA) != 0;
      disconnectData = disconnectData || (p.dwServiceFlags1 & XP1_DISCONNECT_DATA) != 0;
    }
    if (p.iSocketType == SOCK_DGRAM && p.iProtocol == IPPROTO_UDP && p.iAddressFamily == AF_INET && udp4 == "absent") {
      udp4 = Hex(flags);
    }
  }
  r.Str("tcp4_flags", tcp4);
  r.Str("tcp6_flags", tcp6);
  r.Str("udp4_flags", udp4);
  r.Bool("tcp_connect_data", connectData);
  r.Bool("tcp_disconnect_data", disconnectData);
  return r;
}

// 22: the D8 sequence with NULL disconnect data.
Record SeedSequence() {
  Record r("22");
  Sockets sockets;
  Pair p = Connected(sockets);
  WSAEVENT ev = WSACreateEvent();
  WSAEventSelect(p.client, ev, FD_READ | FD_CLOSE);
  SendOutcome(p.client, "tx:5\n");
  r.Str("client_wsasenddisconnect", Result(WSASendDisconnect(p.client, nullptr)));
  std::string first = RecvOutcome(p.server, 1000);
  std::string last = first == "eof" ? first : RecvOutcome(p.server, 1000);
  r.Str("server_reads", first + "," + last);
  char sbuf[64];
  WSABUF sin{static_cast<ULONG>(sizeof sbuf), sbuf};
  r.Str("server_wsarecvdisconnect", Result(WSARecvDisconnect(p.server, &sin)));
  r.Num("server_wsarecvdisconnect_len", static_cast<long long>(sin.len));
  r.Str("server_send", SendOutcome(p.server, "total=5\n"));
  r.Str("server_wsasenddisconnect", Result(WSASendDisconnect(p.server, nullptr)));
  r.Str("server_closesocket", Result(sockets.Close(p.server)));
  NetEvents ne = WaitEvents(p.client, ev, FD_CLOSE, 2000);
  r.Bool("client_fd_close", (ne.bits & FD_CLOSE) != 0);
  r.Num("client_fd_close_error", ne.closeError);
  std::string c1 = RecvOutcome(p.client, 1000);
  std::string c2 = c1 == "eof" ? c1 : RecvOutcome(p.client, 1000);
  r.Str("client_reads", c1 + "," + c2);
  char cbuf[64];
  WSABUF cin{static_cast<ULONG>(sizeof cbuf), cbuf};
  r.Str("client_wsarecvdisconnect", Result(WSARecvDisconnect(p.client, &cin)));
  r.Num("client_wsarecvdisconnect_len", static_cast<long long>(cin.len));
  WSACloseEvent(ev);
  return r;
}

// A TCP socket bound to 127.0.0.1 on a port of the system's choosing
// (blocking; not listening).
SOCKET BoundTcp(Sockets& sockets) {
  SOCKET s = sockets.Tcp();
  sockaddr_in a = Loopback(0);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  return s;
}

// 23: group QOS (lpGQOS, "reserved, should be NULL") on WSAConnect, and the
// QOS output parameters the condition function is given on TCP/IP.
Record GroupQos() {
  Record r("23");
  Sockets sockets;
  Listener l = Listen(sockets, false);
  SOCKET c = sockets.Tcp();
  sockaddr_in a = Loopback(l.port);
  QOS gqos;
  std::memset(&gqos, 0, sizeof gqos);
  gqos.SendingFlowspec.ServiceType = SERVICETYPE_BESTEFFORT;
  gqos.ReceivingFlowspec.ServiceType = SERVICETYPE_BESTEFFORT;
  r.Str("wsaconnect_gqos", Result(WSAConnect(c, reinterpret_cast<sockaddr*>(&a), sizeof a, nullptr, nullptr, nullptr, &gqos)));
  g_cond = Condition();
  SOCKET s = INVALID_SOCKET;
  r.Str("wsaaccept", Accept(l.s, CF_ACCEPT, &s, &sockets));
  // TCP/IP has no XP1_QOS_SUPPORTED: the condition's lpSQOS/lpGQOS (the
  // acceptor's output parameters for a QOS grant) are NULL.
  r.Str("condition_sqos", g_cond.sqos);
  r.Str("condition_gqos", g_cond.gqos);
  return r;
}

// 24: the accepted socket has the listening socket's properties, its
// WSAEventSelect registration (and so non-blocking mode) included (D1/004).
Record InheritedAttributes() {
  Record r("24");
  Sockets sockets;
  SOCKET ls = BoundTcp(sockets);
  BOOL on = TRUE;
  setsockopt(ls, SOL_SOCKET, SO_KEEPALIVE, reinterpret_cast<const char*>(&on), sizeof on);
  listen(ls, 8);
  WSAEVENT ev = WSACreateEvent();
  WSAEventSelect(ls, ev, FD_ACCEPT | FD_READ);
  u_short port = LocalPort(ls);
  SOCKET c = StartConnect(sockets, port);
  ConnectState(c, 2000);
  g_cond = Condition();
  SOCKET s = INVALID_SOCKET;
  r.Str("wsaaccept", Accept(ls, CF_ACCEPT, &s, &sockets));
  if (s != INVALID_SOCKET) {
    BOOL ka = FALSE;
    int len = sizeof ka;
    getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, reinterpret_cast<char*>(&ka), &len);
    r.Str("keepalive", ka ? "value:1" : "value:0");
    // Non-blocking (WSAEventSelect's mode): a recv with nothing there fails at once.
    char buf[8];
    int n = recv(s, buf, sizeof buf, 0);
    r.Str("recv_nothing", n == SOCKET_ERROR ? Err(WSAGetLastError()) : "bytes:" + std::to_string(n));
    // The listener's registration (FD_READ, same event object) is the accepted socket's.
    WSAResetEvent(ev);
    SendOutcome(c, "hi");
    NetEvents ne = WaitEvents(s, ev, FD_READ, 2000);
    r.Bool("fd_read_inherited", (ne.bits & FD_READ) != 0);
  }
  WSAEventSelect(ls, nullptr, 0);
  WSACloseEvent(ev);
  return r;
}

// 25: a backlog beyond the provider's limit is capped silently (004).
Record BacklogCap() {
  Record r("25");
  Sockets sockets;
  SOCKET ls = BoundTcp(sockets);
  r.Str("listen_huge", Result(listen(ls, 0x7fffffff)));
  r.Str("listen_somaxconn", Result(listen(ls, SOMAXCONN)));
  return r;
}

// 26: a blocking WSAAccept waits for a connection request (004).
struct BlockingAccept {
  SOCKET listener = INVALID_SOCKET;
  std::atomic<int> done{0};
  SOCKET accepted = INVALID_SOCKET;
  int error = 0;
};
DWORD WINAPI BlockingAcceptThread(LPVOID p) {
  auto* b = static_cast<BlockingAccept*>(p);
  sockaddr_in a;
  int len = sizeof a;
  b->accepted = WSAAccept(b->listener, reinterpret_cast<sockaddr*>(&a), &len, ConditionProc, 0);
  b->error = b->accepted == INVALID_SOCKET ? WSAGetLastError() : 0;
  b->done.store(1);
  return 0;
}
Record BlockingAcceptWaits() {
  Record r("26");
  Sockets sockets;
  SOCKET ls = BoundTcp(sockets);
  listen(ls, 8);
  g_cond = Condition();
  BlockingAccept b;
  b.listener = ls;
  HANDLE t = CreateThread(nullptr, 0, BlockingAcceptThread, &b, 0, nullptr);
  Sleepms(300);
  r.Bool("waiting_without_request", b.done.load() == 0);
  SOCKET c = StartConnect(sockets, LocalPort(ls));
  ConnectState(c, 2000);
  DWORD w = t == nullptr ? WAIT_FAILED : WaitForSingleObject(t, 5000);
  r.Str("wsaaccept", w == WAIT_OBJECT_0 ? Err(b.error) : "still-waiting");
  r.Num("condition_calls", g_cond.calls);
  if (w != WAIT_OBJECT_0) sockets.Close(ls);  // unblocks the thread
  if (t != nullptr) {
    WaitForSingleObject(t, 5000);
    CloseHandle(t);
  }
  if (b.accepted != INVALID_SOCKET) sockets.Track(b.accepted);
  return r;
}

// 27: FD_ACCEPT on the listener, and the non-blocking connect sequence:
// WSAEWOULDBLOCK, then FD_CONNECT with error 0 (D5, 004).
Record NetworkEventsAcceptConnect() {
  Record r("27");
  Sockets sockets;
  SOCKET ls = BoundTcp(sockets);
  listen(ls, 8);
  WSAEVENT lev = WSACreateEvent();
  WSAEventSelect(ls, lev, FD_ACCEPT);
  SOCKET c = sockets.Tcp();
  WSAEVENT cev = WSACreateEvent();
  WSAEventSelect(c, cev, FD_CONNECT);
  sockaddr_in to = Loopback(LocalPort(ls));
  int rc = WSAConnect(c, reinterpret_cast<sockaddr*>(&to), sizeof to, nullptr, nullptr, nullptr, nullptr);
  r.Str("wsaconnect", rc == SOCKET_ERROR ? Err(WSAGetLastError()) : "ok");
  Progress();
  WSANETWORKEVENTS ne;
  std::memset(&ne, 0, sizeof ne);
  WSAWaitForMultipleEvents(1, &cev, FALSE, 2000, FALSE);
  WSAEnumNetworkEvents(c, cev, &ne);
  r.Bool("fd_connect", (ne.lNetworkEvents & FD_CONNECT) != 0);
  r.Num("fd_connect_error", (ne.lNetworkEvents & FD_CONNECT) ? ne.iErrorCode[FD_CONNECT_BIT] : -1);
  std::memset(&ne, 0, sizeof ne);
  WSAWaitForMultipleEvents(1, &lev, FALSE, 2000, FALSE);
  WSAEnumNetworkEvents(ls, lev, &ne);
  r.Bool("fd_accept", (ne.lNetworkEvents & FD_ACCEPT) != 0);
  WSAEventSelect(ls, nullptr, 0);
  WSAEventSelect(c, nullptr, 0);
  WSACloseEvent(lev);
  WSACloseEvent(cev);
  return r;
}

// 28: WSAConnect's documented errors: nobody listening (WSAECONNREFUSED),
// already connected (WSAEISCONN), a connect in progress (WSAEALREADY), and
// a local address already in use for that peer (WSAEADDRINUSE) (D5).
Record ConnectErrors() {
  Record r("28");
  Sockets sockets;
  // A port nobody listens on: bound, never listening.
  SOCKET closed = BoundTcp(sockets);
  sockaddr_in nobody = Loopback(LocalPort(closed));
  SOCKET c0 = sockets.Tcp();
  r.Str("refused", Result(WSAConnect(c0, reinterpret_cast<sockaddr*>(&nobody), sizeof nobody, nullptr, nullptr, nullptr, nullptr)));
  Listener l = Listen(sockets, false);
  sockaddr_in to = Loopback(l.port);
  SOCKET c1 = sockets.Tcp();
  WSAConnect(c1, reinterpret_cast<sockaddr*>(&to), sizeof to, nullptr, nullptr, nullptr, nullptr);
  r.Str("isconn", Result(WSAConnect(c1, reinterpret_cast<sockaddr*>(&to), sizeof to, nullptr, nullptr, nullptr, nullptr)));
  // In progress: a connect to a listener whose accept queue is full stays
  // pending (its SYNs go unanswered), so the second call meets it in
  // progress. On loopback a connect to a listener with room can complete
  // between the two calls (WSAEISCONN then): the queue is filled first.
  SOCKET full = BoundTcp(sockets);
  listen(full, 1);
  sockaddr_in toFull = Loopback(LocalPort(full));
  for (int i = 0; i < 4; i++) StartConnect(sockets, LocalPort(full));
  Sleepms(300);
  SOCKET c2 = sockets.Tcp();
  NonBlocking(c2, true);
  int first = WSAConnect(c2, reinterpret_cast<sockaddr*>(&toFull), sizeof toFull, nullptr, nullptr, nullptr, nullptr);
  r.Str("nonblocking_first", first == SOCKET_ERROR ? Err(WSAGetLastError()) : "ok");
  int again = WSAConnect(c2, reinterpret_cast<sockaddr*>(&toFull), sizeof toFull, nullptr, nullptr, nullptr, nullptr);
  r.Str("nonblocking_again", again == SOCKET_ERROR ? Err(WSAGetLastError()) : "ok");
  // The same local address and port, connected to the same peer, by a second socket.
  SOCKET c3 = sockets.Tcp();
  BOOL on = TRUE;
  setsockopt(c3, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&on), sizeof on);
  sockaddr_in mine = Loopback(LocalPort(c1));
  r.Str("reuse_bind", Result(bind(c3, reinterpret_cast<sockaddr*>(&mine), sizeof mine)));
  r.Str("addrinuse", Result(WSAConnect(c3, reinterpret_cast<sockaddr*>(&to), sizeof to, nullptr, nullptr, nullptr, nullptr)));
  return r;
}

template <typename F>
void Run(const char* id, F body) {
  g_current.store(id);
  Progress();
  Emit(body().Json());
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i++) {
    if (std::strcmp(argv[i], "--out") == 0) g_out = std::fopen(argv[i + 1], "w");
  }
  WSADATA wsa;
  if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
    std::fputs("WSAStartup failed\n", stderr);
    return 2;
  }
  Progress();
  HANDLE dog = CreateThread(nullptr, 0, Watchdog, nullptr, 0, nullptr);
  if (dog != nullptr) CloseHandle(dog);

  Run("env", Env);
  g_current.store("1");
  {
    Record r1("1"), r2("2"), r3("3");
    AcceptArguments(r1, r2, r3);
    Emit(r1.Json());
    Emit(r2.Json());
    Emit(r3.Json());
  }
  Run("4", Reject);
  Run("5", ConnectBeforeDecision);
  Run("6", RejectTeardown);
  Run("7", ConditionalOption);
  Run("8", RejectHeld);
  Run("9", Defer);
  Run("9.held", DeferHeld);
  Run("9.withdrawn", Withdrawn);
  Run("10", InvalidVerdict);
  Run("11", BadArguments);
  Run("12", [] {
    Record r = ConnectData();
    ConnectDataInBand(r);
    return r;
  });
  Run("13", SendDisconnectNull);
  Run("14", SendDisconnectData);
  Run("15", Unconnected);
  Run("16", RecvDisconnectNull);
  Run("17", RecvDisconnectReset);
  Run("18", RecvAfterGraceful);
  Run("19", CloseWithUnread);
  Run("20", AbortiveClose);
  Run("21", Protocols);
  Run("22", SeedSequence);
  Run("23", GroupQos);
  Run("24", InheritedAttributes);
  Run("25", BacklogCap);
  Run("26", BlockingAcceptWaits);
  Run("27", NetworkEventsAcceptConnect);
  Run("28", ConnectErrors);
  WSACleanup();
  if (g_out != nullptr) std::fclose(g_out);
  return 0;
}
