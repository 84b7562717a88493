// The C API (include/pare/pare.h) over the loader and the runtime. Every entry
// point catches everything: no exception crosses into C.
#include "include/pare/pare.h"

#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "formats/onnx/read.h"
#include "lib/base/error.h"
#include "lib/runtime/session.h"

struct pare_session {
  pare::ir::Model model;
  std::unique_ptr<pare::rt::Session> session;
  std::vector<std::string> names_in, names_out;
  std::vector<const pare::ir::Value*> declared_out;
  std::map<std::string, pare::ir::Tensor> feed;
  std::vector<pare::ir::Tensor> outputs;  // of the last run
};

namespace {

thread_local std::string last_error;

int failed(const std::string& message) {
  last_error = message;
  return PARE_ERROR;
}

// Runs `f`, turning any exception into PARE_ERROR and pare_last_error().
template <typename F>
int guarded(F&& f) {
  try {
    f();
    last_error.clear();
    return PARE_OK;
  } catch (const std::bad_alloc&) {
    return failed("out of memory");
  } catch (const std::exception& e) {
    return failed(e.what());
  } catch (...) {
    return failed("unknown failure");
  }
}

bool known_dtype(pare_dtype d) {
  int v = static_cast<int>(d);
  return v >= 1 && v <= 13 && v != 8;  // no strings through C
}

int describe(const pare::ir::Value& v, pare_tensor_info* info) {
  if (!info) return failed("info is NULL");
  std::memset(info, 0, sizeof(*info));
  info->name = v.name().c_str();
  info->dtype = static_cast<pare_dtype>(v.dtype);
  if (!v.shape) return PARE_OK;
  if (v.shape->rank() > PARE_MAX_RANK)
    return failed("'" + v.name() + "' has rank " + std::to_string(v.shape->rank()) + ", above PARE_MAX_RANK");
  info->known_rank = 1;
  info->rank = v.shape->rank();
  for (size_t i = 0; i < info->rank; ++i) {
    const pare::ir::Dim& d = v.shape->dims[i];
    info->dims[i] = d.is_known() ? d.value : -1;
    info->dim_names[i] = d.symbol.c_str();
  }
  return PARE_OK;
}

pare_session* create(std::unique_ptr<pare_session> s, const pare_options* options) {
  int threads = options ? options->threads : 1;
  if (threads < 1 || threads > 256) {
    failed("threads must be between 1 and 256, not " + std::to_string(threads));
    return nullptr;
  }
  if (guarded([&] {
        s->session = std::make_unique<pare::rt::Session>(s->model, pare::rt::SessionOptions{threads});
        s->names_in = s->session->input_names();
        s->names_out = s->session->output_names();
        for (const pare::ir::Value* v : s->model.graph->outputs) s->declared_out.push_back(v);
      }) != PARE_OK)
    return nullptr;
  return s.release();
}

}  // namespace

extern "C" {

void pare_options_init(pare_options* o) {
  if (!o) return;
  o->struct_size = sizeof(pare_options);
  o->threads = 1;
}

pare_session* pare_session_create(const char* model_path, const pare_options* options) {
  if (!model_path) {
    failed("model path is NULL");
    return nullptr;
  }
  auto s = std::make_unique<pare_session>();
  if (guarded([&] { s->model = pare::formats::onnx::read_model(model_path); }) != PARE_OK) return nullptr;
  return create(std::move(s), options);
}

pare_session* pare_session_create_from_buffer(const void* data, size_t size, const pare_options* options) {
  if (!data && size > 0) {
    failed("model buffer is NULL");
    return nullptr;
  }
  auto s = std::make_unique<pare_session>();
  if (guarded([&] {
        std::string_view bytes(static_cast<const char*>(data), size);  // read in place: no copy of the model
        s->model = pare::formats::onnx::read_model_from_bytes(bytes, "<memory>", "");
      }) != PARE_OK)
    return nullptr;
  return create(std::move(s), options);
}

void pare_session_destroy(pare_session* session) { delete session; }

size_t pare_session_input_count(const pare_session* s) { return s ? s->names_in.size() : 0; }
size_t pare_session_output_count(const pare_session* s) { return s ? s->names_out.size() : 0; }
int pare_session_threads(const pare_session* s) { return s ? s->session->threads() : 0; }

int pare_session_input_info(const pare_session* s, size_t index, pare_tensor_info* info) {
  if (!s) return failed("session is NULL");
  if (index >= s->names_in.size()) return failed("no input " + std::to_string(index));
  return describe(*s->session->inputs()[index], info);
}

int pare_session_output_info(const pare_session* s, size_t index, pare_tensor_info* info) {
  if (!s) return failed("session is NULL");
  if (index >= s->declared_out.size()) return failed("no output " + std::to_string(index));
  return describe(*s->declared_out[index], info);
}

int pare_session_set_input(pare_session* s, size_t index, pare_dtype dtype, const int64_t* dims, size_t rank,
                           const void* data, size_t bytes) {
  if (!s) return failed("session is NULL");
  if (index >= s->names_in.size()) return failed("no input " + std::to_string(index));
  if (!known_dtype(dtype)) return failed("input element type " + std::to_string(static_cast<int>(dtype)) + " is not one pare runs");
  if (rank > 0 && !dims) return failed("dims is NULL");
  if (bytes > 0 && !data) return failed("data is NULL");
  return guarded([&] {
    std::vector<int64_t> d(dims, dims + rank);
    const auto* p = static_cast<const uint8_t*>(data);
    // The Tensor constructor checks that the bytes match dims and type.
    s->feed[s->names_in[index]] =
        pare::ir::Tensor(static_cast<pare::ir::DataType>(dtype), std::move(d), std::vector<uint8_t>(p, p + bytes));
  });
}

int pare_session_run(pare_session* s) {
  if (!s) return failed("session is NULL");
  return guarded([&] {
    for (const auto& n : s->names_in)
      if (!s->feed.count(n)) throw pare::Error("input '" + n + "' is not set");
    s->outputs = s->session->run(s->feed);
  });
}

int pare_session_output(const pare_session* s, size_t index, pare_tensor_info* info, const void** data,
                        size_t* bytes) {
  if (!s) return failed("session is NULL");
  if (index >= s->outputs.size())
    return failed(s->outputs.empty() ? "no run yet" : "no output " + std::to_string(index));
  const pare::ir::Tensor& t = s->outputs[index];
  if (t.dtype() == pare::ir::DataType::kString) return failed("output '" + s->names_out[index] + "' holds strings");
  if (t.rank() > PARE_MAX_RANK) return failed("output '" + s->names_out[index] + "' has a rank above PARE_MAX_RANK");
  if (info) {
    std::memset(info, 0, sizeof(*info));
    info->name = s->names_out[index].c_str();
    info->dtype = static_cast<pare_dtype>(t.dtype());
    info->known_rank = 1;
    info->rank = t.rank();
    for (size_t i = 0; i < t.rank(); ++i) info->dims[i] = t.dims()[i], info->dim_names[i] = "";
  }
  if (data) *data = t.raw();
  if (bytes) *bytes = t.byte_size();
  last_error.clear();
  return PARE_OK;
}

const char* pare_last_error(void) { return last_error.c_str(); }

const char* pare_version(void) { return PARE_VERSION; }

}  // extern "C"
