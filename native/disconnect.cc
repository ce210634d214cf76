// Disconnect: WSASendDisconnect and WSARecvDisconnect.
// https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsasenddisconnect
// https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsarecvdisconnect
// The TCP/IP provider carries no disconnect data (no XP1_DISCONNECT_DATA);
// Wine returns 0 and drops it. So data given to such a provider is refused
// with WSAEOPNOTSUPP before anything is sent: no silent loss.
#include "common.h"

namespace ws2 {

// JS thread. sendDisconnect(data: Buffer | null): void. The facade calls it
// only after every write completed (WSASendDisconnect does not wait for
// overlapped sends). Throws a Winsock error.
Napi::Value NativeSocket::SendDisconnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WSABUF b{0, nullptr};
  bool withData = false;
  if (info[0].IsBuffer()) {
    Napi::Buffer<char> data = info[0].As<Napi::Buffer<char>>();
    if (data.Length() > 0) {
      b.len = static_cast<ULONG>(data.Length());
      b.buf = data.Data();
      withData = true;
    }
  }
  if (withData && (core->protocol.serviceFlags & XP1_DISCONNECT_DATA) == 0) {
    ThrowWinsock(env, WSAEOPNOTSUPP, "WSASendDisconnect");
  }
  std::lock_guard<std::mutex> lock(core->mu);
  if (core->closed) ThrowWinsock(env, WSAENOTSOCK, "WSASendDisconnect");
  if (WSASendDisconnect(core->s, withData ? &b : nullptr) != 0) {
    ThrowWinsock(env, WSAGetLastError(), "WSASendDisconnect");
  }
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
      bool carries = (core->protocol.serviceFlags & XP1_DISCONNECT_DATA) != 0;
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
