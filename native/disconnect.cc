// Disconnect: WSASendDisconnect and WSARecvDisconnect.
// https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsasenddisconnect
// https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsarecvdisconnect
// The TCP/IP provider carries no disconnect data (no XP1_DISCONNECT_DATA);
// Wine returns 0 and drops it. So data given to such a provider is refused
// with WSAEOPNOTSUPP before anything is sent: no silent loss.
#include "common.h"

namespace ws2 {

// JS thread. WSASendDisconnect now. Returns the Winsock error (0: done).
int NativeSocket::DoSendDisconnect(const char* data, size_t len, bool withData) {
  std::lock_guard<std::mutex> lock(core->mu);
  if (core->closed) return WSAENOTSOCK;
  WSABUF b{static_cast<ULONG>(len), const_cast<char*>(data)};
  if (WSASendDisconnect(core->s, withData ? &b : nullptr) != 0) return WSAGetLastError();
  return 0;
}

// JS thread. sendDisconnect(data: Buffer | null, callback(errno)): void.
// The facade calls it only after every write callback ran; copied writes
// (socket.cc) may still be in flight, and WSASendDisconnect does not wait
// for overlapped sends (under Wine the FIN could overtake them), so it runs
// when they have completed. `callback` may run before this returns.
// Throws the honest refusal (WSAEOPNOTSUPP) before anything is sent.
Napi::Value NativeSocket::SendDisconnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[1].IsFunction()) NAPI_THROW(Napi::TypeError::New(env, "sendDisconnect(data, callback)"), Napi::Value());
  Napi::Function cb = info[1].As<Napi::Function>();
  const char* data = nullptr;
  size_t len = 0;
  if (info[0].IsBuffer()) {
    Napi::Buffer<char> b = info[0].As<Napi::Buffer<char>>();
    data = b.Data();
    len = b.Length();
  }
  bool withData = len > 0;
  if (withData && (core->protocol->serviceFlags & XP1_DISCONNECT_DATA) == 0) {
    ThrowWinsock(env, WSAEOPNOTSUPP, "WSASendDisconnect");
  }
  if (core->disconnectPending) ThrowWinsock(env, WSAEINPROGRESS, "WSASendDisconnect");
  bool wait;
  {
    std::lock_guard<std::mutex> lock(core->mu);
    wait = !core->closed && core->copiedInFlight > 0;
    if (wait) core->drainWanted = true;
  }
  if (wait) {
    core->disconnectPending = true;
    core->disconnectPendingData.assign(data, data + len);
    core->disconnectPendingHasData = withData;
    disconnectCallback_ = Napi::Persistent(cb);
    core->copiedActive = true;
    UpdateActive();
    return env.Undefined();
  }
  int err = DoSendDisconnect(data, len, withData);
  cb.Call({Napi::Number::New(env, err)});
  return env.Undefined();
}

// JS thread. recvDisconnect(): Buffer | null. Called by the facade only after
// onEnd (on Windows WSARecvDisconnect resets the connection while data is
// still queued) or after close. The result is cached, so it still answers
// after the socket closed. Throws a Winsock error.
Napi::Value NativeSocket::RecvDisconnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!core->recvDisconnectDone) {
    bool closed;
    {
      std::lock_guard<std::mutex> lock(core->mu);
      closed = core->closed;
    }
    core->recvDisconnectDone = true;
    if (!closed) {
      bool carries = (core->protocol->serviceFlags & XP1_DISCONNECT_DATA) != 0;
      std::vector<char> buf(carries ? 65536 : 0);
      WSABUF b{static_cast<ULONG>(buf.size()), buf.data()};
      // Without XP1_DISCONNECT_DATA pass no buffer: Wine leaves it untouched
      // and Windows documents nothing useful for it.
      if (WSARecvDisconnect(core->s, carries ? &b : nullptr) != 0) {
        int err = WSAGetLastError();
        // The peer is gone already: there is nothing to receive.
        if (err != WSAENOTCONN && err != WSAECONNRESET && err != WSAECONNABORTED) {
          core->recvDisconnectDone = false;
          ThrowWinsock(env, err, "WSARecvDisconnect");
        }
      } else if (carries && b.len > 0 && b.len <= buf.size()) {
        core->hasDisconnectData = true;
        core->disconnectData.assign(buf.data(), buf.data() + b.len);
      }
    }
  }
  if (!core->hasDisconnectData) return env.Null();
  return Napi::Buffer<char>::Copy(env, core->disconnectData.data(), core->disconnectData.size());
}

}  // namespace ws2
