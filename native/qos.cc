// QOS structures (lpSQOS / lpGQOS) to and from the Qos type of lib/types.ts.
#include "common.h"

#include <qos.h>

namespace ws2 {

namespace {

Napi::Value FlowSpecToJs(Napi::Env env, const FLOWSPEC& f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tokenRate", Napi::Number::New(env, f.TokenRate));
  o.Set("tokenBucketSize", Napi::Number::New(env, f.TokenBucketSize));
  o.Set("peakBandwidth", Napi::Number::New(env, f.PeakBandwidth));
  o.Set("latency", Napi::Number::New(env, f.Latency));
  o.Set("delayVariation", Napi::Number::New(env, f.DelayVariation));
  o.Set("serviceType", Napi::Number::New(env, f.ServiceType));
  o.Set("maxSduSize", Napi::Number::New(env, f.MaxSduSize));
  o.Set("minimumPolicedSize", Napi::Number::New(env, f.MinimumPolicedSize));
  return o;
}

ULONG Field(Napi::Object o, const char* name) {
  Napi::Value v = o.Get(name);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : QOS_NOT_SPECIFIED;
}

void JsToFlowSpec(Napi::Value v, FLOWSPEC* f) {
  f->TokenRate = f->TokenBucketSize = f->PeakBandwidth = f->Latency = f->DelayVariation = QOS_NOT_SPECIFIED;
  f->ServiceType = SERVICETYPE_NOTRAFFIC;
  f->MaxSduSize = f->MinimumPolicedSize = QOS_NOT_SPECIFIED;
  if (!v.IsObject()) return;
  Napi::Object o = v.As<Napi::Object>();
  f->TokenRate = Field(o, "tokenRate");
  f->TokenBucketSize = Field(o, "tokenBucketSize");
  f->PeakBandwidth = Field(o, "peakBandwidth");
  f->Latency = Field(o, "latency");
  f->DelayVariation = Field(o, "delayVariation");
  f->ServiceType = Field(o, "serviceType");
  f->MaxSduSize = Field(o, "maxSduSize");
  f->MinimumPolicedSize = Field(o, "minimumPolicedSize");
}

}  // namespace

// JS thread. null for a null QOS. `trustProviderSpecific` guards against
// providers that leave the buffer uninitialised.
Napi::Value QosToJs(Napi::Env env, const QOS* q) {
  if (q == nullptr) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("sending", FlowSpecToJs(env, q->SendingFlowspec));
  o.Set("receiving", FlowSpecToJs(env, q->ReceivingFlowspec));
  if (q->ProviderSpecific.buf != nullptr && q->ProviderSpecific.len > 0 && q->ProviderSpecific.len <= 65536) {
    o.Set("providerSpecific", Napi::Buffer<char>::Copy(env, q->ProviderSpecific.buf, q->ProviderSpecific.len));
  } else {
    o.Set("providerSpecific", env.Null());
  }
  return o;
}

// JS thread. `storage` keeps providerSpecific bytes alive as long as `out`.
void JsToQos(Napi::Value v, QOS* out, std::vector<char>* storage) {
  std::memset(out, 0, sizeof(*out));
  Napi::Object o = v.As<Napi::Object>();
  JsToFlowSpec(o.Get("sending"), &out->SendingFlowspec);
  JsToFlowSpec(o.Get("receiving"), &out->ReceivingFlowspec);
  Napi::Value ps = o.Get("providerSpecific");
  if (ps.IsBuffer()) {
    Napi::Buffer<char> b = ps.As<Napi::Buffer<char>>();
    storage->assign(b.Data(), b.Data() + b.Length());
    out->ProviderSpecific.buf = storage->data();
    out->ProviderSpecific.len = static_cast<ULONG>(storage->size());
  }
}

}  // namespace ws2
