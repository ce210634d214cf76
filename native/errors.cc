// Errors: the addon reports Winsock error NUMBERS and the Winsock function
// that failed. lib/native/errors.ts turns them into WinsockError with
// WinsockError.fromErrno (lib/errors.ts), the one table shared with the
// framed provider; no names or messages are kept here.
#include "common.h"

namespace ws2 {

// JS thread.
Napi::Error WinsockErrorValue(Napi::Env env, int error, const char* syscall) {
  Napi::Error err = Napi::Error::New(env, std::string(syscall) + " failed: Winsock error " + std::to_string(error));
  err.Set("errno", Napi::Number::New(env, error));
  err.Set("syscall", Napi::String::New(env, syscall));
  return err;
}

// JS thread.
void ThrowWinsock(Napi::Env env, int error, const char* syscall) { throw WinsockErrorValue(env, error, syscall); }

}  // namespace ws2
