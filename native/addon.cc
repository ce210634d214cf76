// Startup and teardown: WSAStartup per environment, the per-environment state
// (instance data), the IOCP thread and thread-safe function, and the cleanup
// hook that closes every socket and joins the thread when the environment
// goes away (process exit, worker thread exit/terminate, Electron reload).
#include "common.h"

namespace ws2 {

namespace {

// Owned by the environment (napi instance data); freed at its teardown.
struct InstanceData {
  std::shared_ptr<EnvState> state;
  Napi::FunctionReference socketCtor;
  Napi::FunctionReference listenerCtor;
};

// JS thread, at environment teardown. Runs before Node finalizes the
// thread-safe function (this hook was registered after creating it; hooks
// run in reverse order).
void Cleanup(void* arg) {
  auto* st = static_cast<EnvState*>(arg);
  std::vector<std::shared_ptr<SocketCore>> sockets;
  std::vector<std::shared_ptr<ListenerCore>> listeners;
  {
    std::lock_guard<std::mutex> lock(st->regMu);
    for (auto& kv : st->sockets) {
      if (auto c = kv.second.lock()) sockets.push_back(std::move(c));
    }
    for (auto& kv : st->listeners) {
      if (auto l = kv.second.lock()) listeners.push_back(std::move(l));
    }
  }
  for (auto& l : listeners) l->Close();
  for (auto& c : sockets) c->Close(false);
  StopIocp(st);  // waits for the cancelled operations, then joins
  {
    // Events nobody will deliver: drop them here, on the JS thread, because
    // they may hold napi references (write buffers, callbacks).
    std::lock_guard<std::mutex> lock(st->mu);
    st->pending.clear();
  }
  st->tornDown = true;
  napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
  WSACleanup();
}

// stats(): diagnostic counters of this environment's data path (benchmarks).
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<EnvState> st = GetState(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("recvCompletions", Napi::Number::New(env, static_cast<double>(st->statRecvCompletions.load())));
  o.Set("drainReads", Napi::Number::New(env, static_cast<double>(st->statDrainReads.load())));
  o.Set("recvBytes", Napi::Number::New(env, static_cast<double>(st->statRecvBytes.load())));
  o.Set("copiedSends", Napi::Number::New(env, static_cast<double>(st->statSends.load())));
  o.Set("copiedSendBytes", Napi::Number::New(env, static_cast<double>(st->statSendBytes.load())));
  o.Set("batches", Napi::Number::New(env, static_cast<double>(st->statBatches.load())));
  o.Set("events", Napi::Number::New(env, static_cast<double>(st->statEvents.load())));
  o.Set("acceptWakes", Napi::Number::New(env, static_cast<double>(st->statAcceptWakes.load())));
  o.Set("acceptPosted", Napi::Number::New(env, static_cast<double>(st->statAcceptPosted.load())));
  o.Set("acceptWakesDone", Napi::Number::New(env, static_cast<double>(st->statAcceptWakesDone.load())));
  o.Set("acceptDelivered", Napi::Number::New(env, static_cast<double>(st->statAcceptDelivered.load())));
  o.Set("poolStarved", Napi::Number::New(env, static_cast<double>(st->statPoolStarved.load())));
  {
    std::lock_guard<std::mutex> lock(st->poolMu);
    o.Set("poolLentBytes", Napi::Number::New(env, static_cast<double>(st->poolLent)));
  }
  return o;
}

Napi::Value HandleCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(GetState(info.Env())->handles.load()));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  WSADATA wsa;
  int err = WSAStartup(MAKEWORD(2, 2), &wsa);
  if (err != 0) ThrowWinsock(env, err, "WSAStartup");

  auto* data = new InstanceData();
  data->state = std::make_shared<EnvState>();
  data->state->env = env;
  env.SetInstanceData<InstanceData>(data);

  StartIocp(env, data->state.get());  // creates the thread-safe function
  napi_status s = napi_add_env_cleanup_hook(env, Cleanup, data->state.get());
  if (s != napi_ok) NAPI_THROW(Napi::Error::New(env, "napi_add_env_cleanup_hook failed"), exports);

  data->socketCtor = Napi::Persistent(NativeSocket::Define(env));
  data->listenerCtor = Napi::Persistent(NativeListener::Define(env));

  exports.Set("handleCount", Napi::Function::New(env, HandleCount, "handleCount"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  InitProtocols(env, exports);
  InitConnect(env, exports);
  InitListener(env, exports);
  InitHandOff(env, exports);
  return exports;
}

namespace {
int kConstructToken = 0;  // its address is the token (never written)
}  // namespace

Napi::Value ConstructToken(Napi::Env env) { return Napi::External<int>::New(env, &kConstructToken); }

bool IsConstructToken(const Napi::Value& v) {
  return v.IsExternal() && v.As<Napi::External<int>>().Data() == &kConstructToken;
}

std::shared_ptr<EnvState> GetState(Napi::Env env) { return env.GetInstanceData<InstanceData>()->state; }
Napi::FunctionReference& SocketConstructor(Napi::Env env) { return env.GetInstanceData<InstanceData>()->socketCtor; }
Napi::FunctionReference& ListenerConstructor(Napi::Env env) {
  return env.GetInstanceData<InstanceData>()->listenerCtor;
}

}  // namespace ws2

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return ws2::Init(env, exports); }

NODE_API_MODULE(winsock2, InitAddon)
