// The data path's engine: one I/O completion port per environment, serviced
// by one native thread, and one thread-safe function that carries batches of
// events to JS. The IOCP thread re-posts receives itself (socket.cc,
// SocketCore::PumpLocked) so JS is called once per batch, not per receive.
#include "common.h"

#include <chrono>

namespace ws2 {

namespace {

// JS thread (called by Node for each napi_call_threadsafe_function).
// `env` is null when the function is being torn down: then drop everything.
void CallJs(napi_env rawEnv, napi_value /*js_cb*/, void* context, void* /*data*/) {
  auto* st = static_cast<EnvState*>(context);
  std::vector<Event> batch;
  {
    // Take the batch and clear `scheduled` in one step: an event pushed after
    // this schedules a new call.
    std::lock_guard<std::mutex> lock(st->mu);
    batch.swap(st->pending);
    st->scheduled = false;
  }
  if (rawEnv == nullptr || st->tornDown) return;
  st->statBatches++;
  st->statEvents += batch.size();
  Napi::Env env(rawEnv);
  for (Event& e : batch) {
    Napi::HandleScope scope(env);
    try {
      switch (e.kind) {
        case EventKind::Data:
          if (e.core->wrap) e.core->wrap->DeliverData(std::move(e.op));
          break;
        case EventKind::End:
          if (e.core->wrap) e.core->wrap->DeliverEnd();
          break;
        case EventKind::RecvError:
          if (e.core->wrap) e.core->wrap->DeliverError(e.error, "WSARecv");
          break;
        case EventKind::SendError:
          if (e.core->wrap) e.core->wrap->DeliverError(e.error, "WSASend");
          break;
        case EventKind::SendsDrained:
          if (e.core->wrap) e.core->wrap->DeliverSendsDrained();
          break;
        case EventKind::Connect:
          if (e.core->wrap) e.core->wrap->DeliverConnect(e.error);
          break;
        case EventKind::WriteDone: {
          std::unique_ptr<Op> op = std::move(e.op);
          SocketCore* core = op->core.get();
          core->pendingWrites--;
          int error = op->error;
          bool closed;
          {
            std::lock_guard<std::mutex> lock(core->mu);
            closed = core->closed;
          }
          // After our own close every failure is "aborted" (Wine reports
          // STATUS_HANDLES_CLOSED codes, Windows 995).
          if (error != 0 && closed) error = WSA_OPERATION_ABORTED;
          Napi::Function cb = op->callback.Value();
          op->keep.Reset();
          op->callback.Reset();
          if (core->wrap) core->wrap->UpdateActive();
          cb.Call({Napi::Number::New(env, error)});
          break;
        }
        case EventKind::Acceptable:
          if (e.listener->wrap) e.listener->wrap->DeliverAcceptable();
          break;
        case EventKind::Accepted:
          if (e.listener->wrap) {
            e.listener->wrap->DeliverHeld();
          } else {
            SOCKET held = INVALID_SOCKET;
            int error = 0;
            if (e.listener->TakeHeld(&held, &error) && held != INVALID_SOCKET)
              closesocket(held);  // nobody left to take it
          }
          break;
      }
    } catch (const Napi::Error& err) {
      // A JS callback threw: never lose it. It becomes an uncaught exception,
      // as it would from any other Node callback.
      napi_fatal_exception(env, err.Value());
    } catch (const std::exception& err) {
      // std::bad_alloc and the like: reported, not a crash in Node's frames.
      napi_fatal_exception(env, Napi::Error::New(env, std::string("winsock2: ") + err.what()).Value());
    }
  }
  // Events queued by the callbacks above on this thread (a write that failed
  // at once, a receive posted and failed): `scheduled` was cleared when the
  // batch was taken, so they need their own wake-up.
  st->Flush();
}

// IOCP thread. One dequeued operation. Its status is the documented one:
// OVERLAPPED.Internal holds the NTSTATUS of the finished request (the
// OVERLAPPED docs; libuv reads it the same way), judged with NT_SUCCESS, so
// success-with-information statuses are successes. The Winsock error of a
// failure comes from WSAGetOverlappedResult.
void Complete(EnvState* st, std::unique_ptr<Op> op, DWORD bytes) {
  op->bytes = bytes;
  op->error = 0;
  bool closed;
  {
    std::lock_guard<std::mutex> lock(op->core->mu);
    closed = op->core->closed;
  }
  if (!NT_SUCCESS(op->ov.Internal)) {
    if (closed) {
      op->error = WSA_OPERATION_ABORTED;
    } else {
      DWORD done = 0, flags = 0;
      if (!WSAGetOverlappedResult(op->core->s, &op->ov, &done, FALSE, &flags)) op->error = WSAGetLastError();
      if (op->error == 0) op->error = WSAECONNABORTED;
    }
  }
  if (op->kind == OpKind::Recv) {
    SocketCore* core = op->core.get();
    std::shared_ptr<SocketCore> keep = op->core;
    core->OnRecvComplete(std::move(op));
  } else if (op->kind == OpKind::Connect) {
    st->Push(Event{EventKind::Connect, op->core, nullptr, nullptr, op->error});
  } else if (op->copied) {
    SocketCore* core = op->core.get();
    std::shared_ptr<SocketCore> keep = op->core;
    core->OnCopiedSendComplete(std::move(op));
  } else {
    Event e{EventKind::WriteDone, nullptr, nullptr, nullptr, 0};
    e.op = std::move(op);
    try {
      st->Push(std::move(e));
    } catch (const std::bad_alloc&) {
      // The op holds napi references, which must not be released off the
      // JS thread: leaked (its write callback never runs; the socket gets
      // its error from FailOperation).
      (void)e.op.release();
      throw;
    }
  }
}

// IOCP thread, after an allocation failed while completing an operation of
// `core`: the socket gets WSAENOBUFS as a receive or send error and reads no
// more. If even queueing that fails, the socket stays silent until closed,
// which is still better than terminating the process.
void FailOperation(EnvState* st, const std::shared_ptr<SocketCore>& core, OpKind kind, bool copied) {
  try {
    std::lock_guard<std::mutex> lock(core->mu);
    if (kind == OpKind::Recv) {
      core->readPosted = false;
      core->eof = true;
      st->Push(Event{EventKind::RecvError, core, nullptr, nullptr, WSAENOBUFS});
    } else if (kind == OpKind::Connect) {
      st->Push(Event{EventKind::Connect, core, nullptr, nullptr, WSAENOBUFS});
    } else if (copied) {
      if (!core->sendErrorReported) {
        core->sendErrorReported = true;
        st->Push(Event{EventKind::SendError, core, nullptr, nullptr, WSAENOBUFS});
      }
    } else {
      // A JS write whose op (its Buffers and callback) was already destroyed
      // by the unwinding: report the socket's error instead.
      st->Push(Event{EventKind::SendError, core, nullptr, nullptr, WSAENOBUFS});
    }
  } catch (const std::bad_alloc&) {
  }
}

// IOCP thread.
void ThreadMain(EnvState* st) {
  OVERLAPPED_ENTRY entries[64];
  bool quitting = false;
  auto deadline = std::chrono::steady_clock::now();
  for (;;) {
    ULONG n = 0;
    DWORD timeout = quitting ? 50 : INFINITE;
    BOOL ok = GetQueuedCompletionStatusEx(st->iocp, entries, 64, &n, timeout, FALSE);
    if (!ok) n = 0;
    for (ULONG i = 0; i < n; ++i) {
      if (entries[i].lpOverlapped == nullptr && entries[i].lpCompletionKey == kResumeStarvedKey) {
        try {
          st->ResumeStarved();
        } catch (const std::bad_alloc&) {
          // A starved socket whose read could not be posted stays paused
          // until its next readStart() or the next resume.
        }
        continue;
      }
      if (entries[i].lpOverlapped == nullptr) {  // the quit packet
        quitting = true;
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        continue;
      }
      std::unique_ptr<Op> op(reinterpret_cast<Op*>(entries[i].lpOverlapped));
      st->outstandingOps--;
      std::shared_ptr<SocketCore> core = op->core;
      OpKind kind = op->kind;
      bool copied = op->copied;
      try {
        Complete(st, std::move(op), entries[i].dwNumberOfBytesTransferred);
      } catch (const std::bad_alloc&) {
        // Out of memory on this thread: that one operation fails, the
        // process goes on (an exception leaving a std::thread terminates).
        FailOperation(st, core, kind, copied);
      }
    }
    st->Flush();
    if (quitting && (st->outstandingOps.load() <= 0 || std::chrono::steady_clock::now() > deadline)) break;
  }
}

}  // namespace

// Any thread.
void EnvState::Push(Event&& e) {
  std::lock_guard<std::mutex> lock(mu);
  pending.push_back(std::move(e));
}

// Any thread: one napi call per batch.
void EnvState::Flush() {
  bool call = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!pending.empty() && !scheduled && tsfn != nullptr) {
      scheduled = true;
      call = true;
    }
  }
  if (call && napi_call_threadsafe_function(tsfn, nullptr, napi_tsfn_nonblocking) != napi_ok) {
    std::lock_guard<std::mutex> lock(mu);
    scheduled = false;  // closing: the cleanup hook drops what is left
  }
}

// JS thread. The thread-safe function is unref'd while nothing is active, so
// an idle process exits.
void EnvState::AddRef() {
  if (jsRefs++ == 0 && !tornDown) napi_ref_threadsafe_function(env, tsfn);
}
void EnvState::Release() {
  if (--jsRefs == 0 && !tornDown) napi_unref_threadsafe_function(env, tsfn);
}

// Any thread. Checked, as libuv does: a socket that is not on our port
// would never complete an overlapped operation (a hang, not an error).
int EnvState::Associate(SOCKET s) {
  if (CreateIoCompletionPort(reinterpret_cast<HANDLE>(s), iocp, 0, 0) == nullptr) {
    return static_cast<int>(GetLastError());
  }
  return 0;
}

// JS thread, at module init.
void StartIocp(Napi::Env env, EnvState* st) {
  st->iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
  if (st->iocp == nullptr) {
    NAPI_THROW_VOID(Napi::Error::New(env, "CreateIoCompletionPort failed: " + std::to_string(GetLastError())));
  }
  napi_value name = Napi::String::New(env, "winsock2");
  napi_status s =
      napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, st, CallJs, &st->tsfn);
  if (s != napi_ok) NAPI_THROW_VOID(Napi::Error::New(env, "napi_create_threadsafe_function failed"));
  napi_unref_threadsafe_function(env, st->tsfn);
  st->thread = std::thread(ThreadMain, st);
}

// JS thread, from the cleanup hook: after every socket was closed, wait for
// their cancelled operations (at most ~2 s), then join.
void StopIocp(EnvState* st) {
  if (st->thread.joinable()) {
    PostQueuedCompletionStatus(st->iocp, 0, 0, nullptr);
    st->thread.join();
  }
  if (st->iocp != nullptr) {
    CloseHandle(st->iocp);
    st->iocp = nullptr;
  }
}

}  // namespace ws2
